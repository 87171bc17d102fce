// The dataset's images as thumbnails (made at ingest: never the originals), with their
// annotations drawn over them, filtered by split and class (in the URL, so a reload or
// "back" keeps them). One scrolling gallery of the whole dataset: the API's pages are
// fetched as the reader nears the end, and only the pages near the viewport are drawn
// (the rest keep their height), so a dataset of thousands holds a few dozen <img>s.
import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { useSearchParams } from "react-router";
import { ErrorMessage } from "../../components/ErrorMessage";
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
// Pages this far (px) outside the viewport stay drawn, so a scroll meets drawn rows.
const DRAW_MARGIN = 200;
// The next page is fetched when the end of the last comes this near the viewport...
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
// With this many pages or fewer, all stay drawn: the bound holds without windowing.
const ALWAYS_DRAWN = 2;

export function Gallery({ datasetId, classes }: { datasetId: string; classes: string[] }) {
  const [params, setParams] = useSearchParams();
  const split = (SPLITS as string[]).includes(params.get("split") ?? "")
    ? (params.get("split") as Split)
    : null;
  const className = params.get("class") || null;
  const gallery = useGalleryPages(datasetId, split, className);
  const update = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [name, value] of Object.entries(changes)) {
      if (value) next.set(name, value);
      else next.delete(name);
    }
    setParams(next);
  };
  const total = gallery.total;
  return (
    <section className="card" aria-labelledby="gallery">
      <h2 id="gallery">Images</h2>
      <div className="filters">
        <div className="field inline-field">
          <label htmlFor="gallery-split">Split</label>
          <select
            id="gallery-split"
            value={split ?? ""}
            onChange={(e) => update({ split: e.target.value })}
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
            onChange={(e) => update({ class: e.target.value })}
          >
            <option value="">All classes</option>
            {classes.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </div>
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

/** The fetched pages, each its own grid: those near the viewport drawn, the others an
 *  empty block of the height they had. Which are drawn changes as the window scrolls or
 *  resizes; a page just fetched is drawn. */
function GalleryList({ gallery }: { gallery: GalleryPages }) {
  const blocks = useRef<Array<HTMLDivElement | null>>([]);
  const heights = useRef<number[]>([]);
  const [hidden, setHidden] = useState<ReadonlySet<number>>(new Set());
  const latest = useRef(gallery);
  latest.current = gallery;

  useLayoutEffect(() => {
    blocks.current.forEach((el, i) => {
      if (el && !hidden.has(i)) heights.current[i] = el.offsetHeight;
    });
  });

  useEffect(() => {
    let frame = 0;
    let lastInput = -Infinity;
    let scrolled = false;
    const measure = () => {
      frame = 0;
      const view = window.innerHeight;
      const { pages, loadMore } = latest.current;
      const far = new Set<number>();
      blocks.current.slice(0, pages.length).forEach((el, i) => {
        if (!el || pages.length <= ALWAYS_DRAWN) return;
        const box = el.getBoundingClientRect();
        if (box.bottom < -DRAW_MARGIN || box.top > view + DRAW_MARGIN) far.add(i);
      });
      setHidden((prev) =>
        prev.size === far.size && [...far].every((i) => prev.has(i)) ? prev : far,
      );
      const last = blocks.current[pages.length - 1];
      const reading = scrolled && performance.now() - lastInput < INPUT_RECENT_MS;
      scrolled = false;
      if (reading && last && last.getBoundingClientRect().bottom < view + PREFETCH) loadMore();
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
  }, []);

  const total = gallery.total ?? 0;
  return (
    <div className="gallery-pages" role="list" aria-label="Images">
      {gallery.pages.map((items, p) => {
        const drawn = !hidden.has(p);
        return (
          <div
            key={p}
            role="none"
            className="gallery"
            ref={(el) => {
              blocks.current[p] = el;
            }}
            style={drawn ? undefined : { height: heights.current[p] }}
          >
            {drawn
              ? items.map((image, i) => (
                  <div
                    role="listitem"
                    key={image.path}
                    aria-setsize={total}
                    aria-posinset={p * PAGE_SIZE + i + 1}
                  >
                    <Thumbnail image={image} keypoints={gallery.keypoints} />
                  </div>
                ))
              : null}
          </div>
        );
      })}
    </div>
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
