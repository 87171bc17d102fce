// The gallery's images, fetched a page of the API at a time as the reader scrolls on:
// the whole dataset is reachable without paging by hand.
import { useCallback, useEffect, useRef, useState } from "react";
import { api, call } from "../../api/client";
import { ApiError } from "../../api/errors";
import type { components } from "../../api/schema";

export type Split = components["schemas"]["DatasetImage"]["split"];
export const PAGE_SIZE = 24;

function fetchImages(
  datasetId: string,
  offset: number,
  split: Split | null,
  className: string | null,
) {
  return call(
    api().GET("/api/v1/datasets/{dataset_id}/images", {
      params: {
        path: { dataset_id: datasetId },
        query: { limit: PAGE_SIZE, offset, split, class_name: className },
      },
    }),
  );
}

// An image as the API answers it (boxes are [x, y, width, height] in its pixels).
export type GalleryImage = Awaited<ReturnType<typeof fetchImages>>["items"][number];

export interface GalleryPages {
  pages: GalleryImage[][];
  total: number | null;
  keypoints: number;
  loading: boolean;
  error: ApiError | null;
  more: boolean; // the dataset has images not fetched yet
  loadMore: () => void;
}

/** The pages fetched so far of the images of `split` and `className` (null: all); the
 *  first at once, each next one on `loadMore`. */
export function useGalleryPages(
  datasetId: string,
  split: Split | null,
  className: string | null,
): GalleryPages {
  const [state, setState] = useState<{
    pages: GalleryImage[][];
    total: number | null;
    keypoints: number;
  }>({ pages: [], total: null, keypoints: 0 });
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiError | null>(null);
  const inFlight = useRef(false);
  // Answers for earlier filters are dropped: the generation they were asked in is over.
  const generation = useRef(0);

  const fetchPage = useCallback(
    (offset: number) => {
      const asked = generation.current;
      inFlight.current = true;
      setLoading(true);
      fetchImages(datasetId, offset, split, className).then(
        (page) => {
          if (asked !== generation.current) return;
          inFlight.current = false;
          setLoading(false);
          setError(null);
          setState((s) => ({
            pages: [...s.pages, page.items],
            total: page.total,
            keypoints: page.keypoints?.num ?? 0,
          }));
        },
        (caught: unknown) => {
          if (asked !== generation.current) return;
          inFlight.current = false;
          setLoading(false);
          setError(caught instanceof ApiError ? caught : new ApiError(0, "error", String(caught)));
        },
      );
    },
    [datasetId, split, className],
  );

  useEffect(() => {
    generation.current += 1;
    setState({ pages: [], total: null, keypoints: 0 });
    setError(null);
    fetchPage(0);
  }, [fetchPage]);

  const fetched = state.pages.reduce((n, p) => n + p.length, 0);
  const more = state.total !== null && fetched < state.total;
  const loadMore = useCallback(() => {
    if (!inFlight.current && more) fetchPage(fetched);
  }, [more, fetched, fetchPage]);

  return { ...state, loading, error, more, loadMore };
}
