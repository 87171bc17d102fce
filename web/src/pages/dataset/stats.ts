// A dataset's `stats` (api/services/datasets/stats.py) is free-form JSON in the API's
// schema; these read the parts the screen shows, and nothing when a part is missing.

export interface ClassCount {
  name: string;
  images: number;
  instances: number;
}

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

export function classCounts(stats: Record<string, unknown> | null | undefined): ClassCount[] {
  const classes = stats?.classes;
  if (!Array.isArray(classes)) return [];
  return classes.map((c) => {
    const r = record(c);
    return {
      name: String(r.name ?? r.id ?? "?"),
      images: Number(r.images ?? 0),
      instances: Number(r.instances ?? 0),
    };
  });
}

export function countsBySplit(
  stats: Record<string, unknown> | null | undefined,
): Array<[string, number]> {
  return Object.entries(record(stats?.images_per_split)).map(([split, n]) => [split, Number(n)]);
}

export function sizeRange(stats: Record<string, unknown> | null | undefined): string | null {
  const size = record(stats?.image_size);
  const w = record(size.width);
  const h = record(size.height);
  if (w.min === undefined || h.min === undefined) return null;
  const same = w.min === w.max && h.min === h.max;
  return same
    ? `${w.min}×${h.min} px`
    : `${w.min}–${w.max} × ${h.min}–${h.max} px (median ${w.median}×${h.median})`;
}
