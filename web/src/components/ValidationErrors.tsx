// What the API found wrong in a dataset's files: {count, listed, by_code, errors: [{file,
// where, reason}]} (the first 200 listed, all counted). The report is free-form JSON in
// the API's schema, so it is read defensively.

interface Problem {
  file: string | null;
  where?: string;
  reason: string;
}

function problemsOf(report: Record<string, unknown>): Problem[] {
  const errors = report.errors;
  if (!Array.isArray(errors)) return [];
  return errors.filter(
    (e): e is Problem => !!e && typeof e === "object" && typeof (e as Problem).reason === "string",
  );
}

export function ValidationErrors({
  report,
}: {
  report: Record<string, unknown> | null | undefined;
}) {
  if (!report) return null;
  const problems = problemsOf(report);
  const count = typeof report.count === "number" ? report.count : problems.length;
  if (!count) return null;
  return (
    <section className="validation-errors" aria-labelledby="validation-errors">
      <h3 id="validation-errors">
        {count} validation {count === 1 ? "error" : "errors"}
        {problems.length < count ? ` (the first ${problems.length} listed)` : ""}
      </h3>
      <ul>
        {problems.map((p, i) => (
          <li key={i}>
            <code>{p.file ?? "(dataset)"}</code>
            {p.where ? <span className="muted"> {p.where}</span> : null}: {p.reason}
          </li>
        ))}
      </ul>
    </section>
  );
}
