import { Link, useParams } from "react-router";
import { useQuery } from "../../api/hooks";
import { BarChart } from "../../components/BarChart";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Fact } from "../../components/Fact";
import { formatBytes, formatDate } from "../../components/format";
import { Loading } from "../../components/Loading";
import { Page } from "../../components/Page";
import { StatusBadge } from "../../components/StatusBadge";
import { ValidationErrors } from "../../components/ValidationErrors";
import { Gallery } from "./Gallery";
import { Snapshots } from "./Snapshots";
import { classCounts, countsBySplit, sizeRange } from "./stats";

export default function DatasetPage() {
  const { datasetId = "" } = useParams();
  const dataset = useQuery(
    (api) =>
      api.GET("/api/v1/datasets/{dataset_id}", { params: { path: { dataset_id: datasetId } } }),
    [datasetId],
  );
  const d = dataset.data;
  if (!d) {
    return (
      <Page title="Dataset">
        <ErrorMessage error={dataset.error} />
        {dataset.loading ? <Loading /> : null}
        <Link to="/datasets">All datasets</Link>
      </Page>
    );
  }
  const classes = classCounts(d.stats);
  const detection = d.format_detection?.reason;
  const instancesDiffer = classes.some((c) => c.instances !== c.images);
  return (
    <Page
      title={d.name}
      actions={
        <>
          {d.status === "ready" ? (
            <Link to={`/training/new?dataset=${d.id}`}>Train a model</Link>
          ) : null}
          <Link to="/datasets">All datasets</Link>
        </>
      }
    >
      <section className="card" aria-labelledby="summary">
        <h2 id="summary">Summary</h2>
        <dl className="facts">
          <Fact term="Status">
            <StatusBadge status={d.status} />
          </Fact>
          <Fact term="Format">
            {d.format ?? "—"}
            {typeof detection === "string" ? <span className="muted"> ({detection})</span> : null}
          </Fact>
          <Fact term="Task">{d.task_type ?? "—"}</Fact>
          <Fact term="Images">{d.num_images}</Fact>
          {countsBySplit(d.stats).map(([split, n]) => (
            <Fact key={split} term={`Images in ${split}`}>
              {n}
            </Fact>
          ))}
          <Fact term="Classes">{d.num_classes ?? "—"}</Fact>
          <Fact term="Image size">{sizeRange(d.stats) ?? "—"}</Fact>
          <Fact term="Size">{formatBytes(d.size_bytes)}</Fact>
          <Fact term="Uploaded">{formatDate(d.created_at)}</Fact>
        </dl>
        {d.description ? <p>{d.description}</p> : null}
        <ValidationErrors report={d.validation_errors} />
      </section>
      {classes.length ? (
        <section className="card" aria-labelledby="classes">
          <h2 id="classes">Classes</h2>
          <BarChart
            title={instancesDiffer ? "Instances per class" : "Images per class"}
            valueLabel={instancesDiffer ? "Instances" : "Images"}
            rows={classes.map((c) => ({
              label: c.name,
              value: instancesDiffer ? c.instances : c.images,
            }))}
          />
        </section>
      ) : null}
      {d.status === "ready" ? (
        <Gallery datasetId={d.id} classes={classes.map((c) => c.name)} />
      ) : null}
      <Snapshots datasetId={d.id} />
    </Page>
  );
}
