import { useState } from "react";
import { useAction } from "../../api/hooks";
import type { components } from "../../api/schema";
import { ErrorMessage } from "../../components/ErrorMessage";
import { KeyPanel } from "./KeyPanel";
import { rememberKey } from "./shownKeys";

type Deployment = components["schemas"]["DeploymentRead"];

/** Activate or deactivate; a new API key (which revokes the old one at once, so it is
 *  confirmed first); a fresh download link for the other strategies. */
export function Actions({ deployment, onChanged }: { deployment: Deployment; onChanged: () => void }) {
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
  const [confirming, setConfirming] = useState(false);
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
          <button type="button" className="secondary" onClick={() => setConfirming(true)}>
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
      </div>
      {endpoint && !active ? (
        <p className="muted">Inactive: the endpoint refuses calls (409) until activated.</p>
      ) : null}
      {confirming ? (
        <div className="notice" role="group" aria-label="Confirm a new API key">
          <p>The current key stops working at once. Make a new key?</p>
          <div className="actions">
            <button
              type="button"
              disabled={newKey.pending}
              onClick={async () => {
                const made = await newKey.run();
                setConfirming(false);
                if (made) {
                  rememberKey(deployment.id, made.api_key);
                  setShownKey(made.api_key);
                  onChanged();
                }
              }}
            >
              Make a new key
            </button>
            <button type="button" className="secondary" onClick={() => setConfirming(false)}>
              Keep the current key
            </button>
          </div>
        </div>
      ) : null}
      {shownKey ? <KeyPanel apiKey={shownKey} title="New API key" /> : null}
      <ErrorMessage error={activate.error ?? deactivate.error ?? newKey.error ?? download.error} />
    </div>
  );
}
