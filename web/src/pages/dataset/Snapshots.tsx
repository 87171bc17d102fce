import { type FormEvent, useState } from "react";
import { useAction, useQuery } from "../../api/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Field } from "../../components/Field";
import { formatDate } from "../../components/format";
import { ListTable } from "../../components/ListTable";
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

  return (
    <section className="card" aria-labelledby="snapshots">
      <h2 id="snapshots">Snapshots</h2>
      <ListTable
        query={snapshots}
        items={snapshots.data ?? []}
        empty="No snapshot yet."
        columns={["Version", "Kind", "Status", "Images", "Taken"]}
        row={(s) => (
          <tr key={s.id}>
            <td>{s.version_tag ?? "—"}</td>
            <td>{s.snapshot_type}</td>
            <td>
              <StatusBadge status={s.status} />
            </td>
            <td>{s.num_images}</td>
            <td>{formatDate(s.created_at)}</td>
          </tr>
        )}
      />
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
