import type { ReactNode } from "react";
import type { ApiError } from "../api/errors";
import { ErrorMessage } from "./ErrorMessage";

/** A form's last lines: the API's error (only where to look, when the fields named in
 *  `besideFields` show their own), the submit button, off while the action is pending,
 *  and what was done (a status line). */
export function FormEnd({
  action,
  besideFields,
  submit,
  done,
}: {
  action: { error: ApiError | null; pending: boolean };
  besideFields?: string[];
  submit: ReactNode;
  done?: ReactNode;
}) {
  return (
    <>
      <ErrorMessage error={action.error} besideFields={besideFields} />
      <button type="submit" disabled={action.pending}>
        {submit}
      </button>
      {done ? <p role="status">{done}</p> : null}
    </>
  );
}
