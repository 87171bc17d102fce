// The URL's search parameters as a screen's state (filters, tabs, chosen model), seen
// at once. react-router applies a navigation inside a React transition, so a controlled
// checkbox or radio bound to the URL would spring back for a moment after a click and
// only then show the new value (a keyboard or test that reads it at once sees the old
// one). This keeps the asked-for parameters until the URL has them.
import { useCallback, useEffect, useState } from "react";
import {
  createSearchParams,
  type NavigateOptions,
  type URLSearchParamsInit,
  useSearchParams as useRouterSearchParams,
} from "react-router";

export type SetSearchParams = (next: URLSearchParamsInit, options?: NavigateOptions) => void;

export function useSearchParams(): [URLSearchParams, SetSearchParams] {
  const [params, setParams] = useRouterSearchParams();
  const [asked, setAsked] = useState<URLSearchParams | null>(null);
  const current = params.toString();
  useEffect(() => setAsked(null), [current]); // the URL has caught up (or moved on)
  const set = useCallback<SetSearchParams>(
    (next, options) => {
      const wanted = createSearchParams(next);
      setAsked(wanted);
      setParams(wanted, options);
    },
    [setParams],
  );
  return [asked ?? params, set];
}

/** A paged list's offset, kept in the URL as `offset` (absent on the first page); the
 *  setter keeps the other parameters (filters) as they are. */
export function useOffset(): [number, (offset: number) => void] {
  const [params, setParams] = useSearchParams();
  const offset = Number(params.get("offset") ?? 0) || 0;
  const setOffset = (next: number) => {
    const wanted = new URLSearchParams(params);
    if (next) wanted.set("offset", String(next));
    else wanted.delete("offset");
    setParams(wanted);
  };
  return [offset, setOffset];
}

/** `params` with `changes` applied: a value sets its parameter, "" or null removes it. */
export function withChanges(
  params: URLSearchParams,
  changes: Record<string, string | null>,
): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const [name, value] of Object.entries(changes)) {
    if (value) next.set(name, value);
    else next.delete(name);
  }
  return next;
}
