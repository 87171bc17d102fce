import { Link } from "react-router";
import { useOffset } from "../../api/searchParams";
import { useQuery } from "../../api/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import { formatBytes, formatDate } from "../../components/format";
import { Loading } from "../../components/Loading";
import { Page } from "../../components/Page";
import { Pager } from "../../components/Pager";
import { StatusBadge } from "../../components/StatusBadge";
import { UploadForm } from "./UploadForm";

const LIMIT = 20;

export default function DatasetsPage() {
  const [offset, setOffset] = useOffset();
  const datasets = useQuery(
    (api) => api.GET("/api/v1/datasets", { params: { query: { limit: LIMIT, offset } } }),
    [offset],
  );
  const items = datasets.data?.items ?? [];
  return (
    <Page title="Datasets">
      <UploadForm onUploaded={() => datasets.reload()} />
      <section aria-labelledby="datasets-list">
        <h2 id="datasets-list">Your datasets</h2>
        <ErrorMessage error={datasets.error} />
        {datasets.loading && !datasets.data ? <Loading /> : null}
        {datasets.data && !items.length ? <p className="muted">No dataset yet.</p> : null}
        {items.length ? (
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Status</th>
                  <th scope="col">Format</th>
                  <th scope="col">Task</th>
                  <th scope="col">Images</th>
                  <th scope="col">Classes</th>
                  <th scope="col">Size</th>
                  <th scope="col">Uploaded</th>
                </tr>
              </thead>
              <tbody>
                {items.map((d) => (
                  <tr key={d.id}>
                    <td>
                      <Link to={`/datasets/${d.id}`}>{d.name}</Link>
                    </td>
                    <td>
                      <StatusBadge status={d.status} />
                    </td>
                    <td>{d.format ?? "—"}</td>
                    <td>{d.task_type ?? "—"}</td>
                    <td>{d.num_images}</td>
                    <td>{d.num_classes ?? "—"}</td>
                    <td>{formatBytes(d.size_bytes)}</td>
                    <td>{formatDate(d.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        {datasets.data ? (
          <Pager
            label="Datasets"
            total={datasets.data.total}
            limit={LIMIT}
            offset={offset}
            onOffset={setOffset}
          />
        ) : null}
      </section>
    </Page>
  );
}
