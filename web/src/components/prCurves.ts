// Precision-recall curves as the API stores them, read defensively (free-form JSON):
// classification `{classes: [{class_name, recall: [], precision: [], average_precision}]}`;
// detection `{recall: [], precision: {class: []}}` on the 101 COCO recall points, the
// keys prefixed "mask_" or "pose_" for segmentation and keypoints.

export interface PrCurve {
  name: string;
  recall: number[];
  precision: number[];
  averagePrecision: number | null;
}

const numbers = (v: unknown): number[] | null =>
  Array.isArray(v) && v.every((x) => typeof x === "number") ? (v as number[]) : null;

export function prCurvesOf(raw: Record<string, unknown> | null | undefined): PrCurve[] {
  if (!raw) return [];
  if (Array.isArray(raw.classes)) {
    const out: PrCurve[] = [];
    for (const c of raw.classes as Array<Record<string, unknown>>) {
      const recall = numbers(c?.recall);
      const precision = numbers(c?.precision);
      if (!recall || !precision || recall.length !== precision.length) continue;
      out.push({
        name: String(c.class_name ?? c.class_id),
        recall,
        precision,
        averagePrecision: typeof c.average_precision === "number" ? c.average_precision : null,
      });
    }
    return out;
  }
  // The box curves when there are any, else the first prefixed set.
  const prefixes = Object.keys(raw)
    .filter((k) => k.endsWith("recall") && numbers(raw[k]))
    .map((k) => k.slice(0, -"recall".length))
    .sort((a, b) => a.length - b.length);
  for (const prefix of prefixes) {
    const recall = numbers(raw[`${prefix}recall`])!;
    const byClass = raw[`${prefix}precision`];
    if (!byClass || typeof byClass !== "object") continue;
    return Object.entries(byClass as Record<string, unknown>).flatMap(([name, values]) => {
      const precision = numbers(values);
      if (!precision || precision.length !== recall.length) return [];
      // COCO-style: precision -1 where a recall level was never reached.
      const points = recall.map((r, i) => [r, precision[i]!] as const).filter(([, p]) => p >= 0);
      const ap = points.length ? points.reduce((s, [, p]) => s + p, 0) / recall.length : null;
      return [
        {
          name,
          recall: points.map(([r]) => r),
          precision: points.map(([, p]) => p),
          averagePrecision: ap,
        },
      ];
    });
  }
  return [];
}
