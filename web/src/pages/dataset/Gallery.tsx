// A page of the dataset's images as thumbnails (made at ingest: never the originals),
// with their annotations drawn over them, filtered by split and class. The filters and
// the page live in the URL, so a reload or "back" keeps them.
import { useSearchParams } from "react-router";
import { useQuery } from "../../api/hooks";
import type { components } from "../../api/schema";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Loading } from "../../components/Loading";
import { Pager } from "../../components/Pager";

type Split = components["schemas"]["DatasetImage"]["split"];
type ImageQuery = { limit: number; offset: number; split: Split | null; class_name: string | null };

function useImages(datasetId: string, query: ImageQuery) {
  return useQuery(
    (api) =>
      api.GET("/api/v1/datasets/{dataset_id}/images", {
        params: { path: { dataset_id: datasetId }, query },
      }),
    [datasetId, query.limit, query.offset, query.split, query.class_name],
  );
}

// An image as the API answers it (boxes are [x, y, width, height] in its pixels).
type Image = NonNullable<ReturnType<typeof useImages>["data"]>["items"][number];

const LIMIT = 24;
const SPLITS: Split[] = ["train", "val", "test"];
const COLOURS = ["#f43f5e", "#3b82f6", "#22c55e", "#eab308", "#a855f7", "#06b6d4", "#f97316"];

export function Gallery({ datasetId, classes }: { datasetId: string; classes: string[] }) {
  const [params, setParams] = useSearchParams();
  const split = (SPLITS as string[]).includes(params.get("split") ?? "")
    ? (params.get("split") as Split)
    : null;
  const className = params.get("class") || null;
  const offset = Number(params.get("offset") ?? 0) || 0;
  const images = useImages(datasetId, { limit: LIMIT, offset, split, class_name: className });
  const update = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [name, value] of Object.entries(changes)) {
      if (value) next.set(name, value);
      else next.delete(name);
    }
    setParams(next);
  };
  const page = images.data;
  return (
    <section className="card" aria-labelledby="gallery">
      <h2 id="gallery">Images</h2>
      <div className="filters">
        <div className="field inline-field">
          <label htmlFor="gallery-split">Split</label>
          <select
            id="gallery-split"
            value={split ?? ""}
            onChange={(e) => update({ split: e.target.value, offset: null })}
          >
            <option value="">All splits</option>
            {SPLITS.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="field inline-field">
          <label htmlFor="gallery-class">Class</label>
          <select
            id="gallery-class"
            value={className ?? ""}
            onChange={(e) => update({ class: e.target.value, offset: null })}
          >
            <option value="">All classes</option>
            {classes.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </div>
        {page ? (
          <p className="muted" role="status">
            {page.total} {page.total === 1 ? "image" : "images"}
          </p>
        ) : null}
      </div>
      <ErrorMessage error={images.error} />
      {images.loading && !page ? <Loading what="Loading images" /> : null}
      {page ? (
        <ul className="gallery" aria-label="Images">
          {page.items.map((image) => (
            <li key={image.path}>
              <Thumbnail image={image} keypoints={page.keypoints?.num ?? 0} />
            </li>
          ))}
        </ul>
      ) : null}
      {page ? (
        <Pager
          label="Images"
          total={page.total}
          limit={LIMIT}
          offset={offset}
          onOffset={(next) => update({ offset: next ? String(next) : null })}
        />
      ) : null}
    </section>
  );
}

function describe(image: Image): string {
  if (image.label_name) return image.label_name;
  const names = [...new Set(image.annotations.map((a) => a.class_name))];
  if (!image.annotations.length) return "no annotations";
  return `${image.annotations.length} ${image.annotations.length === 1 ? "object" : "objects"}: ${names.join(", ")}`;
}

/** The thumbnail, and over it (in the stored image's pixels) boxes, polygons and
 *  keypoints, each class in its own colour. */
function Thumbnail({ image, keypoints }: { image: Image; keypoints: number }) {
  const name = image.path.split("/").pop() ?? image.path;
  const label = describe(image);
  const stroke = Math.max(image.width, image.height) / 100;
  return (
    <figure className="thumbnail">
      <div className="thumbnail-frame" style={{ aspectRatio: `${image.width} / ${image.height}` }}>
        <img src={image.thumbnail_url} alt={`${name}: ${label}`} loading="lazy" decoding="async" />
        {image.annotations.length ? (
          <svg viewBox={`0 0 ${image.width} ${image.height}`} aria-hidden="true">
            {image.annotations.map((a, i) => {
              const colour = COLOURS[a.class_id % COLOURS.length];
              const [x, y, w, h] = a.bbox;
              return (
                <g key={i} stroke={colour} fill="none" strokeWidth={stroke}>
                  {a.polygons?.length ? (
                    a.polygons.map((p, j) => (
                      <polygon key={j} points={p.join(" ")} fill={colour} fillOpacity={0.25} />
                    ))
                  ) : (
                    <rect x={x} y={y} width={w} height={h} />
                  )}
                  {keypoints && a.keypoints
                    ? Array.from({ length: a.keypoints.length / 3 }, (_, k) =>
                        a.keypoints![k * 3 + 2]! > 0 ? (
                          <circle
                            key={k}
                            cx={a.keypoints![k * 3]}
                            cy={a.keypoints![k * 3 + 1]}
                            r={stroke * 1.5}
                            fill={colour}
                          />
                        ) : null,
                      )
                    : null}
                </g>
              );
            })}
          </svg>
        ) : null}
      </div>
      <figcaption>
        <span className="thumbnail-label">{label}</span>
        <span className="muted"> · {image.split}</span>
      </figcaption>
    </figure>
  );
}
