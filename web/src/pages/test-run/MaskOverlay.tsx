// A semantic mask over its photo: the PNG of class ids recoloured (a colour per class,
// void and unknown values transparent) into an <img> laid over the picture.
import { useEffect, useState } from "react";
import type { Mask } from "./readResult";

const PALETTE: [number, number, number][] = [
  [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
  [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212],
]; // the same colours as trainers/visualize.py

/** A data URL of the mask in colour, or null until it is drawn (or when it cannot be). */
function useColouredMask(mask: Mask): string | null {
  const [url, setUrl] = useState<string | null>(null);
  // The mask is read afresh each render: redraw when its content changes, not its object.
  const png = mask.png;
  const ids = mask.classes.map((c) => c.classId).join(",");
  useEffect(() => {
    let live = true;
    const known = new Set(ids.split(",").filter(Boolean).map(Number));
    const picture = new Image();
    picture.onload = () => {
      const canvas = document.createElement("canvas");
      canvas.width = picture.naturalWidth;
      canvas.height = picture.naturalHeight;
      const context = canvas.getContext("2d");
      if (!context || !live) return;
      context.drawImage(picture, 0, 0);
      const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
      const data = pixels.data;
      for (let i = 0; i < data.length; i += 4) {
        const id = data[i] ?? 0; // grey: red = green = blue = the class id
        const [r, g, b] = PALETTE[id % PALETTE.length] ?? [0, 0, 0];
        data[i] = r;
        data[i + 1] = g;
        data[i + 2] = b;
        data[i + 3] = known.has(id) ? 255 : 0;
      }
      context.putImageData(pixels, 0, 0);
      setUrl(canvas.toDataURL("image/png"));
    };
    picture.onerror = () => live && setUrl(null);
    picture.src = `data:image/png;base64,${png}`;
    return () => {
      live = false;
    };
  }, [png, ids]);
  return url;
}

export function MaskOverlay({ mask }: { mask: Mask }) {
  const url = useColouredMask(mask);
  return url ? <img className="result-mask" src={url} alt="" aria-hidden="true" /> : null;
}
