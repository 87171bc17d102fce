// Server state for screens: load on mount and when the inputs change, reload on demand.
// No global store: each screen asks for what it shows.
import { useCallback, useEffect, useState } from "react";
import { api, type Api, call } from "./client";
import { ApiError } from "./errors";
import { useOffset } from "./searchParams";

export interface Query<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

type Request<T> = (api: Api) => Promise<{ data?: T; error?: unknown; response: Response }>;

/** `request` run now and whenever `deps` change; the latest answer wins. While new
 *  `deps` load, the data of the old ones is not shown (a reload keeps it). */
export function useQuery<T>(request: Request<T>, deps: readonly unknown[]): Query<T> {
  const key = JSON.stringify(deps);
  const [state, setState] = useState<{
    key: string;
    data?: T;
    error: ApiError | null;
    loading: boolean;
  }>({ key, error: null, loading: true });
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    call(request(api())).then(
      (data) => current && setState({ key, data, error: null, loading: false }),
      (error: unknown) =>
        current &&
        setState((s) => ({
          key,
          data: s.key === key ? s.data : undefined,
          error: asApiError(error),
          loading: false,
        })),
    );
    return () => {
      current = false;
    };
    // `request` is new every render; what it asks for is in `deps`.
  }, [key, version]);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  const fresh = state.key === key;
  return {
    data: fresh ? state.data : undefined,
    error: fresh ? state.error : null,
    loading: fresh ? state.loading : true,
    reload,
  };
}

export interface Action<A extends unknown[], T> {
  run: (...args: A) => Promise<T | undefined>;
  pending: boolean;
  error: ApiError | null;
  reset: () => void;
}

/** A change the user asks for (a form, a button): its pending state and its error. */
export function useAction<A extends unknown[], T>(
  perform: (api: Api, ...args: A) => Promise<{ data?: T; error?: unknown; response: Response }>,
): Action<A, T> {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const run = async (...args: A) => {
    setPending(true);
    setError(null);
    try {
      return await call(perform(api(), ...args));
    } catch (caught) {
      setError(asApiError(caught));
      return undefined;
    } finally {
      setPending(false);
    }
  };
  const reset = useCallback(() => setError(null), []);
  return { run, pending, error, reset };
}

/** Where a paged list is: its page size, its offset, and how to move it. */
export interface Paging {
  limit: number;
  offset: number;
  onOffset: (offset: number) => void;
}

/** A list the API pages with limit and offset, the offset kept in the URL (useOffset):
 *  `request` is asked for the page, again whenever it or `deps` change. */
export function usePagedQuery<T>(
  limit: number,
  request: (api: Api, page: { limit: number; offset: number }) => ReturnType<Request<T>>,
  deps: readonly unknown[] = [],
): Query<T> & { page: Paging } {
  const [offset, setOffset] = useOffset();
  const query = useQuery((api) => request(api, { limit, offset }), [...deps, offset]);
  return { ...query, page: { limit, offset, onOffset: setOffset } };
}

function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(0, "client_error", error instanceof Error ? error.message : String(error));
}
