import { type FormEvent, useState } from "react";
import { useAction, useQuery } from "../../api/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Field } from "../../components/Field";
import { formatDate } from "../../components/format";
import { Loading } from "../../components/Loading";
import { StatusBadge } from "../../components/StatusBadge";

/** Frozen versions of the dataset (a training job pins one), and a form to take one. */
export function Snapshots({ datasetId }: { datasetId: string }) {
  const path = { dataset_id: datasetId };
  const snapshots = useQuery(
    (api) => api.GET("/api/v1/datasets/{dataset_id}/snapshots", { params: { path } }),
    [datasetId],
  );
  const [tag, setTag] = useState("");
  const create = useAction((api, version_tag: string) =>
    api.POST("/api/v1/datasets/{dataset_id}/snapshots", {
      params: { path },
      body: { version_tag },
    }),
  );

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (await create.run(tag)) {
      setTag("");
      snapshots.reload();
    }
  }

  const items = snapshots.data ?? [];
  return (
    <section className="card" aria-labelledby="snapshots">
      <h2 id="snapshots">Snapshots</h2>
      <ErrorMessage error={snapshots.error} />
      {snapshots.loading && !snapshots.data ? <Loading /> : null}
      {snapshots.data && !items.length ? <p className="muted">No snapshot yet.</p> : null}
      {items.length ? (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Kind</th>
                <th scope="col">Status</th>
                <th scope="col">Images</th>
                <th scope="col">Taken</th>
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.id}>
                  <td>{s.version_tag ?? "—"}</td>
                  <td>{s.snapshot_type}</td>
                  <td>
                    <StatusBadge status={s.status} />
                  </td>
                  <td>{s.num_images}</td>
                  <td>{formatDate(s.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <form className="form inline" onSubmit={submit} noValidate>
        <Field
          label="Version tag"
          value={tag}
          onChange={(e) => setTag(e.target.value)}
          error={create.error?.fieldErrors.version_tag}
          placeholder="v1"
        />
        <button type="submit" disabled={create.pending}>
          Take snapshot
        </button>
      </form>
      <ErrorMessage error={create.error} besideFields={["version_tag"]} />
    </section>
  );
}
