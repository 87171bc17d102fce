import { Link } from "react-router";
import { useSearchParams } from "../../api/searchParams";
import { useQuery } from "../../api/hooks";
import type { components } from "../../api/schema";
import { ErrorMessage } from "../../components/ErrorMessage";
import { FilterSelect } from "../../components/FilterSelect";
import { Page } from "../../components/Page";
import { PagedTable } from "../../components/ListTable";
import { UploadWeights } from "./UploadWeights";
import { WeightsRow } from "./WeightsRow";
import "./weights.css";

const LIMIT = 20;

type Visibility = NonNullable<components["schemas"]["WeightUpdate"]["visibility"]>;
const COLUMNS = [
  "Name",
  "Model",
  "Tasks",
  "Classes",
  "Size",
  "Visibility",
  "Downloads",
  "Uploaded",
];
const VISIBILITIES: Array<[Visibility, string]> = [
  ["private", "Private"],
  ["public", "Public"],
];

export default function WeightsPage() {
  const [params, setParams] = useSearchParams();
  const offset = Number(params.get("offset") ?? 0) || 0;
  const framework = params.get("framework") ?? "";
  const visibility = (params.get("visibility") ?? "") as Visibility | "";
  const weights = useQuery(
    (api) =>
      api.GET("/api/v1/pretrained-weights", {
        params: {
          query: {
            limit: LIMIT,
            offset,
            framework: framework || null,
            visibility: visibility || null,
          },
        },
      }),
    [offset, framework, visibility],
  );
  const catalog = useQuery((api) => api.GET("/api/v1/models"), []);
  const models = catalog.data?.models ?? [];
  const frameworks = [...new Set(models.map((m) => m.framework))].sort();

  /** A filter in the URL (a reload or a link keeps it), back at the first page. */
  function filter(name: string, value: string) {
    const next = new URLSearchParams(params);
    next.delete("offset");
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next);
  }

  const me = useQuery((api) => api.GET("/api/v1/auth/me"), []);
  return (
    <Page title="Pretrained weights" actions={<Link to="/account">Account</Link>}>
      <p className="muted">
        Weights a training job can start from, for installations that cannot reach the model
        hubs. Public weights of other users are listed too; only their owner changes them.
      </p>
      <ErrorMessage error={catalog.error} />
      <UploadWeights models={models} onUploaded={weights.reload} />
      <section aria-labelledby="weights-list">
        <h2 id="weights-list">Weights</h2>
        <div className="filters">
          <FilterSelect
            label="Show framework"
            value={framework}
            onChange={(value) => filter("framework", value)}
            options={frameworks}
          />
          <FilterSelect
            label="Show visibility"
            value={visibility}
            onChange={(value) => filter("visibility", value)}
            options={VISIBILITIES}
          />
        </div>
        <PagedTable
          query={weights}
          label="Weights"
          page={{
            limit: LIMIT,
            offset,
            onOffset: (next) => filter("offset", next ? String(next) : ""),
          }}
          empty={framework || visibility ? "No weights match these filters." : "No weights yet."}
          columns={COLUMNS}
          row={(w) => (
            <WeightsRow
              key={w.id}
              weights={w}
              mine={w.owner_id === me.data?.id}
              onChanged={weights.reload}
            />
          )}
        />
      </section>
    </Page>
  );
}
