// The signed-in user's access token, kept in localStorage so a reload or a new tab stays
// signed in. Only the API layer reads it; screens ask `useSignedIn()`.
import { useSyncExternalStore } from "react";

const KEY = "vap.accessToken";
const listeners = new Set<() => void>();
let expiredListeners: Array<() => void> = [];

export function getToken(): string | null {
  return localStorage.getItem(KEY);
}

export function signIn(token: string): void {
  localStorage.setItem(KEY, token);
  listeners.forEach((notify) => notify());
}

export function signOut(): void {
  localStorage.removeItem(KEY);
  listeners.forEach((notify) => notify());
}

/** The API refused the token (401): forget it and tell whoever returns the user to sign-in. */
export function expireSession(): void {
  if (getToken() === null) return;
  signOut();
  expiredListeners.forEach((notify) => notify());
}

export function onSessionExpired(listener: () => void): () => void {
  expiredListeners.push(listener);
  return () => {
    expiredListeners = expiredListeners.filter((l) => l !== listener);
  };
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  const onStorage = (event: StorageEvent) => {
    if (event.key === KEY) listener();
  };
  window.addEventListener("storage", onStorage); // another tab signed in or out
  return () => {
    listeners.delete(listener);
    window.removeEventListener("storage", onStorage);
  };
}

export function useSignedIn(): boolean {
  return useSyncExternalStore(subscribe, () => getToken() !== null);
}
