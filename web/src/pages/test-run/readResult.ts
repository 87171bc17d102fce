// A per-image result as the job wrote it: its predictions and truth differ by task
// (classes for classification, boxes for detection, a mask for semantic segmentation),
// so they are read defensively here and nowhere else.
import type { components } from "../../api/schema";

export type ResultImage = components["schemas"]["ResultImage"];

export interface ClassGuess {
  name: string;
  confidence: number | null;
}

export interface Box {
  name: string;
  classId: number;
  bbox: [number, number, number, number]; // x, y, width, height in the image's pixels
  confidence: number | null;
}

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" ? (value as Record<string, unknown>) : {};
}

function className(entry: Record<string, unknown>): string {
  if (typeof entry.class_name === "string") return entry.class_name;
  return typeof entry.class_id === "number" ? `class ${entry.class_id}` : "unknown";
}

/** The top class predicted, best first as the file lists them. */
export function predictedClass(image: ResultImage): ClassGuess | null {
  const classes = record(image.predictions).classes;
  if (!Array.isArray(classes) || !classes.length) return null;
  const best = record(classes[0]);
  return {
    name: className(best),
    confidence: typeof best.confidence === "number" ? best.confidence : null,
  };
}

export function trueClass(image: ResultImage): string | null {
  const truth = record(image.ground_truth);
  return "class_id" in truth || "class_name" in truth ? className(truth) : null;
}

function boxesOf(value: unknown): Box[] {
  const boxes = record(value).boxes;
  if (!Array.isArray(boxes)) return [];
  return boxes.flatMap((b) => {
    const box = record(b);
    const bbox = box.bbox;
    if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((v) => typeof v === "number")) {
      return [];
    }
    return [
      {
        name: className(box),
        classId: typeof box.class_id === "number" ? box.class_id : 0,
        bbox: bbox as Box["bbox"],
        confidence: typeof box.confidence === "number" ? box.confidence : null,
      },
    ];
  });
}

export function predictedBoxes(image: ResultImage): Box[] {
  return boxesOf(image.predictions);
}

export function trueBoxes(image: ResultImage): Box[] {
  return boxesOf(image.ground_truth);
}

/** A semantic mask (contract/predictions.py's SemanticMask): a base64 PNG whose pixel
 * values are class ids (255 in a truth mask: void), and the classes in it. */
export interface Mask {
  width: number;
  height: number;
  png: string; // base64
  classes: { name: string; classId: number; pixels: number }[];
}

function maskOf(value: unknown): Mask | null {
  const mask = record(record(value).mask);
  const { width, height, data } = mask;
  if (mask.encoding !== "png_base64" || typeof data !== "string") return null;
  if (typeof width !== "number" || typeof height !== "number") return null;
  const classes = Array.isArray(mask.classes) ? mask.classes.map(record) : [];
  return {
    width,
    height,
    png: data,
    classes: classes.map((c) => ({
      name: className(c),
      classId: typeof c.class_id === "number" ? c.class_id : 0,
      pixels: typeof c.pixels === "number" ? c.pixels : 0,
    })),
  };
}

export function predictedMask(image: ResultImage): Mask | null {
  return maskOf(image.predictions);
}

export function trueMask(image: ResultImage): Mask | null {
  return maskOf(image.ground_truth);
}

/** The mask's classes, most pixels first, as words. */
export function maskClasses(mask: Mask | null): string {
  if (!mask || !mask.classes.length) return "—";
  return [...mask.classes]
    .sort((a, b) => b.pixels - a.pixels)
    .map((c) => c.name)
    .join(", ");
}

/** The image's own mIoU, where the job measured one. */
export function imageMiou(image: ResultImage): number | null {
  const value = record(image.metrics).mIoU;
  return typeof value === "number" ? value : null;
}

export function isDetection(image: ResultImage): boolean {
  return "boxes" in record(image.predictions) || "boxes" in record(image.ground_truth);
}

export function fileName(image: ResultImage): string {
  const path = image.image_path ?? image.image_id ?? `image ${image.index + 1}`;
  return path.split("/").pop() ?? path;
}

export function percent(confidence: number | null): string {
  return confidence === null ? "—" : `${(confidence * 100).toFixed(1)}%`;
}
