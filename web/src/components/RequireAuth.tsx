import { useEffect } from "react";
import { Navigate, Outlet, useLocation, useNavigate } from "react-router";
import { onSessionExpired, useSignedIn } from "../api/session";

/** The sign-in URL that comes back to `location` afterwards. */
export function signInUrl(location: { pathname: string; search: string }, expired = false) {
  const next = encodeURIComponent(location.pathname + location.search);
  return `/sign-in?next=${next}${expired ? "&expired=1" : ""}`;
}

/** Where to go after signing in: `next` when it is a path of this console. */
export function nextPath(params: URLSearchParams): string {
  const next = params.get("next") ?? "/";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

/** Screens behind it need a signed-in user; others are sent to sign in and come back. */
export function RequireAuth() {
  const signedIn = useSignedIn();
  const location = useLocation();
  if (!signedIn) return <Navigate to={signInUrl(location)} replace />;
  return <Outlet />;
}

/** When the API refuses the token (expired), back to sign-in, then to this page. */
export function SessionWatcher() {
  const navigate = useNavigate();
  const location = useLocation();
  useEffect(
    () => onSessionExpired(() => navigate(signInUrl(location, true), { replace: true })),
    [navigate, location],
  );
  return null;
}
