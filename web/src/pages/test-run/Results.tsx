// The run's per-image results, a page at a time, the wrong ones alone when asked. The
// filter, the page and whether pictures show live in the URL, so a reload or "back"
// keeps them; the API filters (a page filtered here would miss the other pages).
import { useSearchParams, withChanges } from "../../api/searchParams";
import { useQuery } from "../../api/hooks";
import { Checkbox } from "../../components/Checkbox";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Loading } from "../../components/Loading";
import { Pager } from "../../components/Pager";
import { ResultCard } from "./ResultCard";

const LIMIT = 24;

export function Results({ testRunId, pictureName }: { testRunId: string; pictureName: string }) {
  const [params, setParams] = useSearchParams();
  const wrongOnly = params.get("wrong") === "1";
  const showPictures = params.get("pictures") === "1";
  const offset = Number(params.get("offset") ?? 0) || 0;
  const results = useQuery(
    (api) =>
      api.GET("/api/v1/test-runs/{test_run_id}/results", {
        params: {
          path: { test_run_id: testRunId },
          query: { limit: LIMIT, offset, wrong_only: wrongOnly },
        },
      }),
    [testRunId, offset, wrongOnly],
  );
  const update = (changes: Record<string, string | null>) =>
    setParams(withChanges(params, changes));
  const page = results.data;
  return (
    <section className="card" aria-labelledby="results">
      <h2 id="results">Per-image results</h2>
      <div className="filters">
        <Checkbox
          label="Only wrong predictions"
          checked={wrongOnly}
          onChange={(checked) => update({ wrong: checked ? "1" : null, offset: null })}
        />
        <Checkbox
          label={<>Show {pictureName} where there is one</>}
          checked={showPictures}
          onChange={(checked) => update({ pictures: checked ? "1" : null })}
        />
        {page ? (
          <p className="muted" role="status">
            {wrongOnly
              ? `${page.total} wrong of ${page.num_images} images`
              : `${page.num_images} images${
                  page.num_wrong === null || page.num_wrong === undefined
                    ? ""
                    : `, ${page.num_wrong} wrong`
                }`}
          </p>
        ) : null}
      </div>
      <ErrorMessage error={results.error} />
      {results.loading && !page ? <Loading what="Loading results" /> : null}
      {page && !page.images.length ? (
        <p className="muted">{wrongOnly ? "No wrong prediction." : "No image."}</p>
      ) : null}
      {page?.images.length ? (
        <ul className="results" aria-label="Per-image results">
          {page.images.map((image) => (
            <li key={`${image.index}-${showPictures}`}>
              <ResultCard image={image} pictureName={pictureName} showPictures={showPictures} />
            </li>
          ))}
        </ul>
      ) : null}
      {page ? (
        <Pager
          label="Results"
          total={page.total}
          limit={LIMIT}
          offset={offset}
          onOffset={(next) => update({ offset: next ? String(next) : null })}
        />
      ) : null}
    </section>
  );
}
