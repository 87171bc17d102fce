/** A job's or dataset's status as text with a colour that repeats, never replaces, it. */
export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status.replace(/[^a-z_]/g, "")}`}>{status}</span>;
}
