import { useState } from "react";
import "./ConfirmButton.css";

/** A button for what cannot be undone (a delete): it asks first, in the page rather than
 *  a browser dialog, so keyboards, screen readers and tests meet it like any other text.
 *  "Keep it" takes the focus, so a second Enter does not confirm by accident. */
export function ConfirmButton({
  label,
  name,
  small = false,
  question,
  confirmLabel,
  pending = false,
  onConfirm,
}: {
  label: string;
  /** The accessible name, where the visible label alone is ambiguous (a row's "Delete"). */
  name?: string;
  small?: boolean;
  question: string;
  confirmLabel: string;
  pending?: boolean;
  onConfirm: () => void | Promise<void>;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button
        type="button"
        className={small ? "danger small" : "danger"}
        aria-label={name}
        onClick={() => setAsking(true)}
      >
        {label}
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={question}>
      <span>{question}</span>
      <button
        type="button"
        className={small ? "danger small" : "danger"}
        disabled={pending}
        onClick={async () => {
          await onConfirm();
          setAsking(false);
        }}
      >
        {confirmLabel}
      </button>
      <button
        type="button"
        className={small ? "secondary small" : "secondary"}
        autoFocus
        onClick={() => setAsking(false)}
      >
        Keep it
      </button>
    </span>
  );
}
