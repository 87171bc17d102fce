import type { ReactNode } from "react";
import { Link, NavLink, useNavigate } from "react-router";
import { useQuery } from "../api/hooks";
import { signOut, useSignedIn } from "../api/session";

export function Layout({ children }: { children: ReactNode }) {
  const signedIn = useSignedIn();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          Vision AI Platform
        </Link>
        {signedIn ? <MainNav /> : null}
        {signedIn ? <Account /> : null}
      </header>
      <main id="main">{children}</main>
    </>
  );
}

function MainNav() {
  return (
    <nav aria-label="Main">
      <ul>
        <li>
          <NavLink to="/" end>
            Home
          </NavLink>
        </li>
        <li>
          <NavLink to="/datasets">Datasets</NavLink>
        </li>
        <li>
          <NavLink to="/training">Training jobs</NavLink>
        </li>
        <li>
          <NavLink to="/test-runs">Test runs</NavLink>
        </li>
        <li>
          <NavLink to="/deployments">Deployments</NavLink>
        </li>
        <li>
          <NavLink to="/usage">Keys and usage</NavLink>
        </li>
      </ul>
    </nav>
  );
}

function Account() {
  const navigate = useNavigate();
  const me = useQuery((api) => api.GET("/api/v1/auth/me"), []);
  return (
    <div className="account">
      {me.data ? (
        <Link to="/account" aria-label={`Account: ${me.data.email}`}>
          {me.data.email}
        </Link>
      ) : null}
      <button
        type="button"
        className="secondary"
        onClick={() => {
          signOut();
          navigate("/sign-in", { replace: true });
        }}
      >
        Sign out
      </button>
    </div>
  );
}
