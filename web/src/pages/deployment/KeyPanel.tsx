import { useId } from "react";
import "./KeyPanel.css";
import { CopyButton } from "../../components/CopyButton";

/** A key the API shows only once: say so, show it whole, offer to copy it. */
export function KeyPanel({ apiKey, title }: { apiKey: string; title: string }) {
  const id = useId();
  return (
    <section className="key-panel" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{title}</h3>
      <p>
        <strong>Copy it now: it will not be shown again.</strong> Only its prefix is kept; this
        tab remembers it for the try-it box until you reload.
      </p>
      <div className="key-row">
        <label htmlFor={`${id}-key`}>The new API key</label>
        <input
          id={`${id}-key`}
          readOnly
          value={apiKey}
          spellCheck={false}
          onFocus={(e) => e.currentTarget.select()}
        />
        <CopyButton text={apiKey} label="Copy the key" />
      </div>
    </section>
  );
}
