// One image of a test run: the image with the prediction against the truth drawn over
// it (boxes for detection, the label and confidence for classification, the predicted
// mask for semantic segmentation), a right/wrong
// mark in words and a symbol (never colour alone), and its picture (Grad-CAM) on demand.
import { useState } from "react";
import { MaskOverlay } from "./MaskOverlay";
import {
  type Box,
  fileName,
  imageMiou,
  isDetection,
  maskClasses,
  percent,
  predictedBoxes,
  predictedClass,
  predictedMask,
  type ResultImage,
  trueBoxes,
  trueClass,
  trueMask,
} from "./readResult";

export function ResultCard({
  image,
  pictureName,
  showPictures,
}: {
  image: ResultImage;
  pictureName: string; // "Grad-CAM" or "drawn prediction": what the job drew
  showPictures: boolean;
}) {
  const [override, setOverride] = useState<boolean | null>(null);
  const [size, setSize] = useState<{ width: number; height: number } | null>(null);
  const showPicture = !!image.visualization_url && (override ?? showPictures);
  const name = fileName(image);
  const detection = isDetection(image);
  const mask = predictedMask(image);
  const guess = predictedClass(image);
  const truth = trueClass(image);
  const verdict = image.correct === true ? "Right" : image.correct === false ? "Wrong" : null;
  const miou = imageMiou(image);
  const summary = mask
    ? `predicted ${maskClasses(mask)}${miou === null ? "" : `, mIoU ${percent(miou)}`}`
    : detection
      ? `${predictedBoxes(image).length} predicted, ${trueBoxes(image).length} true objects`
      : `predicted ${guess?.name ?? "nothing"} (${percent(guess?.confidence ?? null)}), truth ${truth ?? "unknown"}`;
  const src = showPicture ? image.visualization_url : image.image_url;
  return (
    <figure className={`result-card${image.correct === false ? " result-wrong" : ""}`}>
      <div
        className="result-frame"
        style={size ? { aspectRatio: `${size.width} / ${size.height}` } : undefined}
      >
        {src ? (
          <img
            src={src}
            alt={showPicture ? `${pictureName} of ${name}` : `${name}: ${summary}`}
            loading="lazy"
            decoding="async"
            onLoad={(e) => {
              if (!showPicture) {
                const { naturalWidth: width, naturalHeight: height } = e.currentTarget;
                setSize({ width, height });
              }
            }}
          />
        ) : (
          <p className="muted result-missing">No image link</p>
        )}
        {detection && size && !showPicture ? <Boxes image={image} size={size} /> : null}
        {mask && src && !showPicture ? <MaskOverlay mask={mask} /> : null}
        {!detection && !mask && guess && !showPicture ? (
          <span className="result-label" aria-hidden="true">
            {guess.name} {percent(guess.confidence)}
          </span>
        ) : null}
      </div>
      <figcaption>
        {verdict ? (
          <strong className={`verdict verdict-${verdict.toLowerCase()}`}>
            <span aria-hidden="true">{verdict === "Right" ? "✓ " : "✗ "}</span>
            {verdict}
          </strong>
        ) : null}
        <span className="result-name">{name}</span>
        {mask ? (
          <>
            <span>Predicted: {maskClasses(mask)}</span>
            <span>Truth: {maskClasses(trueMask(image))}</span>
            {miou === null ? null : <span>mIoU: {percent(miou)}</span>}
          </>
        ) : detection ? (
          <span>{summary}</span>
        ) : (
          <>
            <span>
              Predicted: {guess?.name ?? "—"} ({percent(guess?.confidence ?? null)})
            </span>
            <span>Truth: {truth ?? "—"}</span>
          </>
        )}
        {image.visualization_url ? (
          <button
            type="button"
            className="secondary small"
            aria-pressed={showPicture}
            aria-label={`Show ${pictureName} of ${name}`}
            onClick={() => setOverride(!showPicture)}
          >
            Show {pictureName}
          </button>
        ) : null}
      </figcaption>
    </figure>
  );
}

/** Truth as dashed boxes, predictions as solid ones with their confidence. */
function Boxes({ image, size }: { image: ResultImage; size: { width: number; height: number } }) {
  const stroke = Math.max(size.width, size.height) / 100;
  const draw = (box: Box, i: number, truth: boolean) => {
    const [x, y, w, h] = box.bbox;
    return (
      <g key={`${truth ? "t" : "p"}${i}`}>
        <rect
          x={x}
          y={y}
          width={w}
          height={h}
          fill="none"
          stroke={truth ? "#22c55e" : "#f43f5e"}
          strokeWidth={stroke}
          strokeDasharray={truth ? `${stroke * 3} ${stroke * 2}` : undefined}
        />
        {truth ? null : (
          <text x={x} y={Math.max(y - stroke, stroke * 6)} fontSize={stroke * 6} fill="#f43f5e">
            {box.name} {percent(box.confidence)}
          </text>
        )}
      </g>
    );
  };
  return (
    <svg viewBox={`0 0 ${size.width} ${size.height}`} aria-hidden="true">
      {trueBoxes(image).map((b, i) => draw(b, i, true))}
      {predictedBoxes(image).map((b, i) => draw(b, i, false))}
    </svg>
  );
}
