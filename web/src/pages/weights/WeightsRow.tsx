import { type FormEvent, useState } from "react";
import { useAction } from "../../api/hooks";
import { noContent } from "../../api/noContent";
import type { components } from "../../api/schema";
import { ConfirmButton } from "../../components/ConfirmButton";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Field } from "../../components/Field";
import { formatBytes, formatDate } from "../../components/format";

type Weights = components["schemas"]["WeightRead"];

/** One weights file: download for anyone who sees it; rename and delete for its owner. */
export function WeightsRow({
  weights: w,
  mine,
  onChanged,
}: {
  weights: Weights;
  mine: boolean;
  onChanged: () => void;
}) {
  const path = { weight_id: w.id };
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState(w.name);
  const rename = useAction((api, name: string) =>
    api.PATCH("/api/v1/pretrained-weights/{weight_id}", { params: { path }, body: { name } }),
  );
  const remove = useAction((api) =>
    noContent(api.DELETE("/api/v1/pretrained-weights/{weight_id}", { params: { path } })),
  );
  const download = useAction((api) =>
    api.GET("/api/v1/pretrained-weights/{weight_id}/download", { params: { path } }),
  );

  async function submitRename(event: FormEvent) {
    event.preventDefault();
    if (await rename.run(name)) {
      setRenaming(false);
      onChanged();
    }
  }

  return (
    <tr>
      <td className="weights-name">
        {renaming ? (
          <form className="rename" onSubmit={submitRename} noValidate>
            <Field
              label={`New name for ${w.name}`}
              required
              autoFocus
              value={name}
              onChange={(e) => setName(e.target.value)}
              error={rename.error?.fieldErrors.name}
            />
            <div className="actions">
              <button type="submit" className="small" disabled={rename.pending}>
                Save name
              </button>
              <button
                type="button"
                className="small secondary"
                onClick={() => {
                  setRenaming(false);
                  setName(w.name);
                  rename.reset();
                }}
              >
                Cancel
              </button>
            </div>
            <ErrorMessage error={rename.error} besideFields={["name"]} />
          </form>
        ) : (
          <>
            {w.name}
            {w.description ? <div className="muted">{w.description}</div> : null}
          </>
        )}
        {/* In the first column, so they are on screen at 390 px too. */}
        <div className="actions">
          <button
            type="button"
            className="small"
            aria-label={`Download ${w.name}`}
            disabled={download.pending}
            onClick={async () => {
              const link = await download.run();
              // A signed URL that answers with the file as an attachment: the browser
              // saves it and stays on this page.
              if (link) {
                window.location.assign(link.url);
                onChanged(); // the download count went up
              }
            }}
          >
            Download
          </button>
          {mine && !renaming ? (
            <button
              type="button"
              className="small secondary"
              aria-label={`Rename ${w.name}`}
              onClick={() => setRenaming(true)}
            >
              Rename
            </button>
          ) : null}
          {mine ? (
            <ConfirmButton
              label="Delete"
            name={`Delete ${w.name}`}
            small
              question={`Delete ${w.name} for good?`}
              confirmLabel="Yes, delete"
              pending={remove.pending}
              onConfirm={async () => {
                if (await remove.run()) onChanged();
              }}
            />
          ) : null}
        </div>
        <ErrorMessage error={download.error ?? remove.error} />
      </td>
      <td>
        {w.framework} / {w.base_architecture}
      </td>
      <td>{w.task_types.join(", ")}</td>
      <td>{w.num_classes ?? "—"}</td>
      <td>{formatBytes(w.size_bytes)}</td>
      <td>{w.visibility}</td>
      <td>{w.download_count}</td>
      <td>{formatDate(w.created_at)}</td>
    </tr>
  );
}
