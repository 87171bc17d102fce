import { useState } from "react";
import { useNavigate } from "react-router";
import { api, call } from "../../api/client";
import type { ApiError } from "../../api/errors";
import { useAction } from "../../api/hooks";
import type { components } from "../../api/schema";
import { ErrorMessage } from "../../components/ErrorMessage";
import { KeyPanel } from "./KeyPanel";
import { rememberKey } from "./shownKeys";

type Deployment = components["schemas"]["DeploymentRead"];

/** Activate or deactivate; a new API key (which revokes the old one at once, so it is
 *  confirmed first); a fresh download link for the other strategies. */
export function Actions({
  deployment,
  onChanged,
}: {
  deployment: Deployment;
  onChanged: () => void;
}) {
  const path = { deployment_id: deployment.id };
  const activate = useAction((api) =>
    api.POST("/api/v1/deployments/{deployment_id}/activate", { params: { path } }),
  );
  const deactivate = useAction((api) =>
    api.POST("/api/v1/deployments/{deployment_id}/deactivate", { params: { path } }),
  );
  const newKey = useAction((api) =>
    api.POST("/api/v1/deployments/{deployment_id}/api-keys", { params: { path } }),
  );
  const download = useAction((api) =>
    api.GET("/api/v1/deployments/{deployment_id}/download", { params: { path } }),
  );
  const [removing, setRemoving] = useState(false);
  const [removeError, setRemoveError] = useState<ApiError | null>(null);
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState<"key" | "delete" | null>(null);
  const [shownKey, setShownKey] = useState<string | null>(null);
  const endpoint = deployment.strategy === "platform_endpoint";
  const active = deployment.status === "active";
  const toggle = active ? deactivate : activate;

  return (
    <div className="deployment-actions">
      <div className="actions">
        <button
          type="button"
          className={active ? "secondary" : undefined}
          disabled={toggle.pending}
          onClick={async () => {
            if (await toggle.run()) onChanged();
          }}
        >
          {active ? "Deactivate" : "Activate"}
        </button>
        {endpoint && !confirming ? (
          <button type="button" className="secondary" onClick={() => setConfirming("key")}>
            New API key
          </button>
        ) : null}
        {!endpoint ? (
          <button
            type="button"
            className="secondary"
            disabled={download.pending}
            onClick={async () => {
              const link = await download.run();
              if (link) window.location.assign(link.url);
            }}
          >
            Download
          </button>
        ) : null}
        {!confirming ? (
          <button type="button" className="danger" onClick={() => setConfirming("delete")}>
            Delete deployment
          </button>
        ) : null}
      </div>
      {endpoint && !active ? (
        <p className="muted">Inactive: the endpoint refuses calls (409) until activated.</p>
      ) : null}
      {confirming === "delete" ? (
        <div className="notice" role="group" aria-label="Confirm deleting the deployment">
          <p>
            Its endpoint and keys stop working at once, and its history and usage go with it. The
            export stays. Delete {deployment.name}?
          </p>
          <div className="actions">
            <button
              type="button"
              className="danger"
              disabled={removing}
              onClick={async () => {
                setRemoving(true);
                setRemoveError(null);
                try {
                  // 204, no body: `call` throws the API's error or returns nothing.
                  await call(
                    api().DELETE("/api/v1/deployments/{deployment_id}", { params: { path } }),
                  );
                  navigate("/deployments", { replace: true });
                } catch (caught) {
                  setRemoveError(caught as ApiError);
                  setConfirming(null);
                } finally {
                  setRemoving(false);
                }
              }}
            >
              Delete
            </button>
            <button type="button" className="secondary" onClick={() => setConfirming(null)}>
              Keep it
            </button>
          </div>
        </div>
      ) : null}
      {confirming === "key" ? (
        <div className="notice" role="group" aria-label="Confirm a new API key">
          <p>The current key stops working at once. Make a new key?</p>
          <div className="actions">
            <button
              type="button"
              disabled={newKey.pending}
              onClick={async () => {
                const made = await newKey.run();
                setConfirming(null);
                if (made) {
                  rememberKey(deployment.id, made.api_key);
                  setShownKey(made.api_key);
                  onChanged();
                }
              }}
            >
              Make a new key
            </button>
            <button type="button" className="secondary" onClick={() => setConfirming(null)}>
              Keep the current key
            </button>
          </div>
        </div>
      ) : null}
      {shownKey ? <KeyPanel apiKey={shownKey} title="New API key" /> : null}
      <ErrorMessage error={
          activate.error ?? deactivate.error ?? newKey.error ?? download.error ?? removeError
        } />
    </div>
  );
}
