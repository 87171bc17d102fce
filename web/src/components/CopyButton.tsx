import { useState } from "react";

const ROW = {
  display: "inline-flex",
  flexWrap: "wrap",
  alignItems: "center",
  gap: "0.5rem",
} as const;
const REFUSED = "Copying was refused: select the text and copy it.";

/** Copies `text` to the clipboard and says whether it did (the clipboard can be refused:
 *  then the text is still there to select). */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [outcome, setOutcome] = useState<"copied" | "failed" | null>(null);
  return (
    <span style={ROW}>
      <button
        type="button"
        className="secondary small"
        onClick={() =>
          navigator.clipboard
            .writeText(text)
            .then(() => setOutcome("copied"), () => setOutcome("failed"))
        }
      >
        {label}
      </button>
      <span role="status" className="muted">
        {outcome === "copied" ? "Copied." : outcome === "failed" ? REFUSED : ""}
      </span>
    </span>
  );
}
