import { NavLink } from "react-router";
import "./TrainingTabs.css";

/** Run, Results and Exports of one training job: each its own URL, the current one
 *  marked (aria-current) by NavLink. */
export function TrainingTabs({ jobId }: { jobId: string }) {
  const base = `/training/${jobId}`;
  return (
    <nav className="training-tabs" aria-label="Training job">
      <ul>
        <li>
          <NavLink to={base} end>
            Run
          </NavLink>
        </li>
        <li>
          <NavLink to={`${base}/results`}>Results</NavLink>
        </li>
        <li>
          <NavLink to={`${base}/exports`}>Exports</NavLink>
        </li>
      </ul>
    </nav>
  );
}
