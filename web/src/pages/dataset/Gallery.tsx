// The dataset's images as thumbnails (made at ingest: never the originals), with their
// annotations drawn over them, filtered by split and class (in the URL, so a reload or
// "back" keeps them). One scrolling gallery of the whole dataset: the API's pages are
// fetched as the reader nears the end, and only the rows of thumbnails in the viewport
// are drawn (the rest keep their height), so a dataset of thousands holds a few dozen
// <img>s.
import {
  type CSSProperties,
  memo,
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from "react";
import { useSearchParams, withChanges } from "../../api/searchParams";
import { ErrorMessage } from "../../components/ErrorMessage";
import { FilterSelect } from "../../components/FilterSelect";
import { Loading } from "../../components/Loading";
import "./Gallery.css";
import {
  type GalleryImage,
  type GalleryPages,
  PAGE_SIZE,
  type Split,
  useGalleryPages,
} from "./useGalleryPages";

type Image = GalleryImage;

const SPLITS: Split[] = ["train", "val", "test"];
const COLOURS = ["#f43f5e", "#3b82f6", "#22c55e", "#eab308", "#a855f7", "#06b6d4", "#f97316"];
// The grid's geometry: columns of at least MIN_COLUMN px (thumbnails are at most 128 px a
// side), as many as the list's width holds; every cell a square frame over a one-line
// caption, so every row has the same height and the rows in view follow from the scroll.
const MIN_COLUMN = 120;
const GAP = 12;
const CAPTION = 20;
// Rows this far (px) outside the viewport stay drawn, so a scroll meets drawn rows.
const OVERSCAN = 40;
// The next page is fetched when the end of the list comes this near the viewport...
const PREFETCH = 600;
// ... by the reader's own scrolling (wheel, keys, touch, scrollbar): not by a scroll the
// page or a tool makes (scroll restoration, focusing a field above, a full-page capture).
const INPUT_RECENT_MS = 1000;
const SCROLL_KEYS = new Set(["PageDown", "End", "ArrowDown", " "]);

function scrollsThePage(event: Event): boolean {
  if (event.type === "wheel" || event.type === "touchmove") return true;
  if (event instanceof KeyboardEvent) {
    const field = event.target instanceof Element && event.target.closest("input, select, textarea");
    return SCROLL_KEYS.has(event.key) && !field;
  }
  return event.target === document.documentElement; // a press on the page's scrollbar
}
// With this many images or fewer, all stay drawn: the bound holds without windowing.
const ALWAYS_DRAWN = 2 * PAGE_SIZE;

export function Gallery({ datasetId, classes }: { datasetId: string; classes: string[] }) {
  const [params, setParams] = useSearchParams();
  const split = (SPLITS as string[]).includes(params.get("split") ?? "")
    ? (params.get("split") as Split)
    : null;
  const className = params.get("class") || null;
  const gallery = useGalleryPages(datasetId, split, className);
  const update = (changes: Record<string, string | null>) =>
    setParams(withChanges(params, changes));
  const total = gallery.total;
  return (
    <section className="card" aria-labelledby="gallery">
      <h2 id="gallery">Images</h2>
      <div className="filters">
        <FilterSelect
          label="Split"
          value={split ?? ""}
          onChange={(value) => update({ split: value })}
          options={SPLITS}
          any="All splits"
        />
        <FilterSelect
          label="Class"
          value={className ?? ""}
          onChange={(value) => update({ class: value })}
          options={classes}
          any="All classes"
        />
        {total !== null ? (
          <p className="muted" role="status">
            {total} {total === 1 ? "image" : "images"}
          </p>
        ) : null}
      </div>
      {gallery.loading && !gallery.pages.length ? <Loading what="Loading images" /> : null}
      {/* A new filter starts a new list: its scroll and drawn pages start over. */}
      {gallery.pages.length ? <GalleryList key={`${split}|${className}`} gallery={gallery} /> : null}
      <ErrorMessage error={gallery.error} />
      {gallery.more ? (
        <button
          type="button"
          className="secondary gallery-more"
          disabled={gallery.loading}
          onClick={gallery.loadMore}
        >
          {gallery.loading ? "Loading more images…" : "Show more images"}
        </button>
      ) : null}
    </section>
  );
}

interface Geometry {
  columns: number;
  rowHeight: number;
  rows: number;
  count: number;
}

/** The rows [first, end) of the list within the viewport (and OVERSCAN around it). */
function rowsInView(list: HTMLElement, { rowHeight, rows, count }: Geometry): [number, number] {
  if (count <= ALWAYS_DRAWN) return [0, rows];
  const pitch = rowHeight + GAP;
  const top = -list.getBoundingClientRect().top; // the viewport's top, in the list's px
  const first = Math.max(0, Math.floor((top - OVERSCAN) / pitch));
  const end = Math.min(rows, Math.floor((top + window.innerHeight + OVERSCAN) / pitch) + 1);
  return end > first ? [first, end] : [0, 0];
}

/** The fetched images as one grid as tall as all its rows, of which only the rows in
 *  view are in the page: placed where they belong, the others empty space. The rows
 *  drawn change (a state update, a render of the rows that came into view) only when
 *  the scroll or the list's width moves a row in or out of view, looked at once a frame. */
function GalleryList({ gallery }: { gallery: GalleryPages }) {
  const list = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const [drawn, setDrawn] = useState<[number, number]>([0, 0]);
  const items = useMemo(() => gallery.pages.flat(), [gallery.pages]);

  const columns = Math.max(1, Math.floor((width + GAP) / (MIN_COLUMN + GAP)));
  const columnWidth = width ? (width - GAP * (columns - 1)) / columns : MIN_COLUMN;
  const rowHeight = columnWidth + CAPTION;
  const rows = Math.ceil(items.length / columns);
  const geometry = useRef<Geometry>({ columns, rowHeight, rows, count: items.length });
  geometry.current = { columns, rowHeight, rows, count: items.length };
  const latest = useRef(gallery);
  latest.current = gallery;

  const update = useCallback(() => {
    if (!list.current) return;
    const [first, end] = rowsInView(list.current, geometry.current);
    setDrawn((prev) => (prev[0] === first && prev[1] === end ? prev : [first, end]));
  }, []);

  // The list's width, now and whenever it changes (the window, a phone turned).
  useLayoutEffect(() => {
    const el = list.current!;
    setWidth(el.clientWidth);
    const observer = new ResizeObserver(([entry]) => setWidth(entry!.contentRect.width));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  // New geometry (a page fetched, another width): the rows in view, before it is painted.
  useLayoutEffect(update, [update, columns, rowHeight, rows, items.length]);

  useEffect(() => {
    let frame = 0;
    let lastInput = -Infinity;
    let scrolled = false;
    const measure = () => {
      frame = 0;
      update();
      const reading = scrolled && performance.now() - lastInput < INPUT_RECENT_MS;
      scrolled = false;
      const el = list.current;
      if (reading && el && el.getBoundingClientRect().bottom < window.innerHeight + PREFETCH)
        latest.current.loadMore();
    };
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(measure);
    };
    const onScroll = () => {
      scrolled = true;
      schedule();
    };
    const onInput = (event: Event) => {
      if (scrollsThePage(event)) lastInput = performance.now();
    };
    const INPUTS = ["wheel", "keydown", "touchmove", "pointerdown"];
    window.addEventListener("scroll", onScroll, { passive: true });
    window.addEventListener("resize", schedule);
    for (const type of INPUTS) window.addEventListener(type, onInput, { passive: true });
    return () => {
      window.removeEventListener("scroll", onScroll);
      window.removeEventListener("resize", schedule);
      for (const type of INPUTS) window.removeEventListener(type, onInput);
      cancelAnimationFrame(frame);
    };
  }, [update]);

  const total = gallery.total ?? 0;
  const [first, end] = drawn;
  const shown = items.slice(first * columns, end * columns);
  const height = rows ? rows * rowHeight + (rows - 1) * GAP : 0;
  return (
    <div
      ref={list}
      className="gallery-window"
      role="list"
      aria-label="Images"
      style={{ height, "--caption": `${CAPTION}px` } as CSSProperties}
    >
      <div
        role="none"
        className="gallery"
        style={{
          gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))`,
          gridAutoRows: `${rowHeight}px`,
          gap: `${GAP}px`,
          transform: `translateY(${first * (rowHeight + GAP)}px)`,
        }}
      >
        {shown.map((image, i) => (
          <GalleryItem
            key={image.path}
            image={image}
            keypoints={gallery.keypoints}
            position={first * columns + i + 1}
            total={total}
          />
        ))}
      </div>
    </div>
  );
}

/** One image of the list: drawn again only when it, its place or the total changes. */
const GalleryItem = memo(function GalleryItem({
  image,
  keypoints,
  position,
  total,
}: {
  image: Image;
  keypoints: number;
  position: number;
  total: number;
}) {
  return (
    <div role="listitem" aria-setsize={total} aria-posinset={position}>
      <Thumbnail image={image} keypoints={keypoints} />
    </div>
  );
});

function describe(image: Image): string {
  if (image.label_name) return image.label_name;
  const names = [...new Set(image.annotations.map((a) => a.class_name))];
  if (!image.annotations.length) return "no annotations";
  return `${image.annotations.length} ${image.annotations.length === 1 ? "object" : "objects"}: ${names.join(", ")}`;
}

/** An uncompressed COCO RLE (column-major runs, 0s first) as an SVG path of the
 *  column segments its 1-runs cover; null for COCO's compressed string, which is drawn
 *  as its box. */
function rlePath(counts: string | number[], height: number): string | null {
  if (typeof counts === "string") return null;
  let d = "";
  let at = 0;
  counts.forEach((run, i) => {
    if (i % 2 === 1) {
      for (let left = run, p = at; left > 0; ) {
        const y = p % height;
        const length = Math.min(left, height - y);
        d += `M${Math.floor(p / height)} ${y}h1v${length}h-1z`;
        p += length;
        left -= length;
      }
    }
    at += run;
  });
  return d;
}

/** The thumbnail, and over it (in the stored image's pixels) boxes, polygons, masks and
 *  keypoints, each class in its own colour. */
function Thumbnail({ image, keypoints }: { image: Image; keypoints: number }) {
  const name = image.path.split("/").pop() ?? image.path;
  const label = describe(image);
  const stroke = Math.max(image.width, image.height) / 100;
  return (
    <figure className="thumbnail">
      <div className="thumbnail-frame">
        <img src={image.thumbnail_url} alt={`${name}: ${label}`} loading="lazy" decoding="async" />
        {image.annotations.length ? (
          <svg viewBox={`0 0 ${image.width} ${image.height}`} aria-hidden="true">
            {image.annotations.map((a, i) => {
              const colour = COLOURS[a.class_id % COLOURS.length];
              const [x, y, w, h] = a.bbox;
              const rle = a.polygons?.length ? null : a.rle;
              const mask = rle ? rlePath(rle.counts, rle.size[0] ?? image.height) : null;
              return (
                <g key={i} stroke={colour} fill="none" strokeWidth={stroke}>
                  {a.polygons?.length ? (
                    a.polygons.map((p, j) => (
                      <polygon key={j} points={p.join(" ")} fill={colour} fillOpacity={0.25} />
                    ))
                  ) : mask !== null ? (
                    <path d={mask} fill={colour} fillOpacity={0.35} stroke="none" />
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
      <figcaption title={`${label} · ${image.split}`}>
        <span className="thumbnail-label">{label}</span>
        <span className="muted"> · {image.split}</span>
      </figcaption>
    </figure>
  );
}
