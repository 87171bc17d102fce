import { Link, useSearchParams } from "react-router";
import { useQuery } from "../../api/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Loading } from "../../components/Loading";
import { Page } from "../../components/Page";
import { Pager } from "../../components/Pager";
import { UploadWeights } from "./UploadWeights";
import { WeightsRow } from "./WeightsRow";
import "./weights.css";

const LIMIT = 20;

export default function WeightsPage() {
  const [params, setParams] = useSearchParams();
  const offset = Number(params.get("offset") ?? 0) || 0;
  const weights = useQuery(
    (api) => api.GET("/api/v1/pretrained-weights", { params: { query: { limit: LIMIT, offset } } }),
    [offset],
  );
  const me = useQuery((api) => api.GET("/api/v1/auth/me"), []);
  const items = weights.data?.items ?? [];
  return (
    <Page title="Pretrained weights" actions={<Link to="/account">Account</Link>}>
      <p className="muted">
        Weights a training job can start from, for installations that cannot reach the model
        hubs. Public weights of other users are listed too; only their owner changes them.
      </p>
      <UploadWeights onUploaded={weights.reload} />
      <section aria-labelledby="weights-list">
        <h2 id="weights-list">Weights</h2>
        <ErrorMessage error={weights.error} />
        {weights.loading && !weights.data ? <Loading /> : null}
        {weights.data && !items.length ? <p className="muted">No weights yet.</p> : null}
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
                  <th scope="col">Actions</th>
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
            onOffset={(next) => setParams(next ? { offset: String(next) } : {})}
          />
        ) : null}
      </section>
    </Page>
  );
}
