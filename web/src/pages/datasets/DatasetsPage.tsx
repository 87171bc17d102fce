import { Link } from "react-router";
import { usePagedQuery } from "../../api/hooks";
import { formatBytes, formatDate } from "../../components/format";
import { Page } from "../../components/Page";
import { PagedTable } from "../../components/ListTable";
import { StatusBadge } from "../../components/StatusBadge";
import { UploadForm } from "./UploadForm";

const LIMIT = 20;

export default function DatasetsPage() {
  const datasets = usePagedQuery(LIMIT, (api, page) =>
    api.GET("/api/v1/datasets", { params: { query: page } }),
  );
  return (
    <Page title="Datasets">
      <UploadForm onUploaded={() => datasets.reload()} />
      <section aria-labelledby="datasets-list">
        <h2 id="datasets-list">Your datasets</h2>
        <PagedTable
          query={datasets}
          label="Datasets"
          page={datasets.page}
          empty="No dataset yet."
          columns={["Name", "Status", "Format", "Task", "Images", "Classes", "Size", "Uploaded"]}
          row={(d) => (
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
          )}
        />
      </section>
    </Page>
  );
}
