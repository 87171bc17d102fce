import { Link } from "react-router";
import { useSearchParams } from "../../api/searchParams";
import { useQuery } from "../../api/hooks";
import type { components } from "../../api/schema";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Loading } from "../../components/Loading";
import { Page } from "../../components/Page";
import { Pager } from "../../components/Pager";
import { UploadWeights } from "./UploadWeights";
import { WeightsRow } from "./WeightsRow";
import "./weights.css";

const LIMIT = 20;

type Visibility = NonNullable<components["schemas"]["WeightUpdate"]["visibility"]>;

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
  const items = weights.data?.items ?? [];
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
          <div className="inline-field">
            <label htmlFor="filter-framework">Show framework</label>
            <select
              id="filter-framework"
              value={framework}
              onChange={(e) => filter("framework", e.target.value)}
            >
              <option value="">Any</option>
              {frameworks.map((f) => (
                <option key={f} value={f}>
                  {f}
                </option>
              ))}
            </select>
          </div>
          <div className="inline-field">
            <label htmlFor="filter-visibility">Show visibility</label>
            <select
              id="filter-visibility"
              value={visibility}
              onChange={(e) => filter("visibility", e.target.value)}
            >
              <option value="">Any</option>
              <option value="private">Private</option>
              <option value="public">Public</option>
            </select>
          </div>
        </div>
        <ErrorMessage error={weights.error} />
        {weights.loading && !weights.data ? <Loading /> : null}
        {weights.data && !items.length ? (
          <p className="muted">
            {framework || visibility ? "No weights match these filters." : "No weights yet."}
          </p>
        ) : null}
        {items.length ? (
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Model</th>
                  <th scope="col">Tasks</th>
                  <th scope="col">Classes</th>
                  <th scope="col">Size</th>
                  <th scope="col">Visibility</th>
                  <th scope="col">Downloads</th>
                  <th scope="col">Uploaded</th>
                </tr>
              </thead>
              <tbody>
                {items.map((w) => (
                  <WeightsRow
                    key={w.id}
                    weights={w}
                    mine={w.owner_id === me.data?.id}
                    onChanged={weights.reload}
                  />
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        {weights.data ? (
          <Pager
            label="Weights"
            total={weights.data.total}
            limit={LIMIT}
            offset={offset}
            onOffset={(next) => filter("offset", next ? String(next) : "")}
          />
        ) : null}
      </section>
    </Page>
  );
}
