import type { ApiError } from "../api/errors";

/** An API error as the API said it. In a form, pass the fields that show their own
 *  message (`besideFields`): when those cover every field the error names, this says
 *  only where to look. */
export function ErrorMessage({
  error,
  besideFields,
}: {
  error: ApiError | null | undefined;
  besideFields?: string[];
}) {
  if (!error) return null;
  const named = Object.keys(error.fieldErrors);
  const covered = !!besideFields && named.length > 0 && named.every((f) => besideFields.includes(f));
  return (
    <p className="error" role="alert">
      {covered ? "Correct the fields marked above." : error.message}
    </p>
  );
}
