// API keys the API showed in this visit (creation, "New API key"), kept in memory only:
// the try-it box and the snippets use them, and a reload forgets them, as the API does
// (it keeps a hash). Never in localStorage or the URL.
import { useSyncExternalStore } from "react";

const keys = new Map<string, string>();
const listeners = new Set<() => void>();

export function rememberKey(deploymentId: string, key: string): void {
  keys.set(deploymentId, key);
  listeners.forEach((notify) => notify());
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The key of `deploymentId` shown in this visit, or null. */
export function useShownKey(deploymentId: string): string | null {
  return useSyncExternalStore(subscribe, () => keys.get(deploymentId) ?? null);
}
