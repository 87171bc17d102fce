import { useCallback, useId, useRef } from "react";
import { Link } from "react-router";
import { useSearchParams } from "../../api/searchParams";
import { useQuery } from "../../api/hooks";
import { ErrorMessage } from "../../components/ErrorMessage";
import { Loading } from "../../components/Loading";
import { Page } from "../../components/Page";
import { type ChatAnswer, ChatPanel } from "./ChatPanel";
import { withChat, withParam } from "./formState";
import { type Model, ModelCatalog } from "./ModelCatalog";
import { TrainingForm } from "./TrainingForm";
import "./new-training.css";

// The API's page size limit: a user with more ready datasets than this picks among the
// newest, or arrives with ?dataset= from the dataset's own page.
const DATASET_LIMIT = 200;

export default function NewTrainingPage() {
  const id = useId();
  const [params, setParams] = useSearchParams();
  const presets = useRef<Record<string, Record<string, unknown>>>({});
  // The chat's answer arrives after an await: it applies to the form as it is then.
  const latest = useRef(params);
  latest.current = params;
  const datasetId = params.get("dataset") ?? "";
  const framework = params.get("framework") ?? "";
  const modelName = params.get("model") ?? "";
  const datasets = useQuery(
    (api) =>
      api.GET("/api/v1/datasets", {
        params: { query: { status: "ready", limit: DATASET_LIMIT } },
      }),
    [],
  );
  const models = useQuery((api) => api.GET("/api/v1/models"), []);
  const ready = datasets.data?.items ?? [];
  const dataset = ready.find((d) => d.id === datasetId);
  const task = dataset?.task_type ?? "";
  const catalog = models.data?.models ?? [];
  const model = catalog.find(
    (m) => m.framework === framework && m.name === modelName && m.task_types.includes(task),
  );

  function chooseDataset(next: string) {
    let p = withParam(params, "dataset", next);
    const nextTask = ready.find((d) => d.id === next)?.task_type ?? "";
    if (model && !model.task_types.includes(nextTask)) {
      p = withParam(withParam(p, "framework", null), "model", null);
    }
    setParams(p);
  }

  function chooseModel(m: Model) {
    setParams(withParam(withParam(params, "framework", m.framework), "model", m.name));
  }

  const applyChat = (answer: ChatAnswer): string[] => {
    const { params: next, changed } = withChat(
      latest.current,
      answer.partial_config,
      answer.config ?? null,
      presets.current,
    );
    if (changed.length) setParams(next);
    return changed;
  };

  const onPresets = useCallback((p: Record<string, Record<string, unknown>>) => {
    presets.current = p;
  }, []);

  return (
    <Page title="New training" actions={<Link to="/training">All training jobs</Link>}>
      <div className="new-training">
        <div className="new-training-steps">
          <section className="card" aria-labelledby={`${id}-dataset`}>
            <h2 id={`${id}-dataset`}>Dataset</h2>
            <ErrorMessage error={datasets.error} />
            {datasets.loading && !datasets.data ? <Loading /> : null}
            {datasets.data && !ready.length ? (
              <p>
                You have no ready dataset yet. <Link to="/datasets">Upload one</Link> first.
              </p>
            ) : null}
            {ready.length ? (
              <div className="field">
                <label htmlFor={`${id}-dataset-select`}>Dataset</label>
                <select
                  id={`${id}-dataset-select`}
                  value={dataset ? datasetId : ""}
                  onChange={(e) => chooseDataset(e.target.value)}
                  aria-describedby={`${id}-dataset-hint`}
                >
                  <option value="">Choose a dataset</option>
                  {ready.map((d) => (
                    <option key={d.id} value={d.id}>
                      {d.name} ({d.num_images} images, {d.task_type ?? "unknown task"})
                    </option>
                  ))}
                </select>
                <small id={`${id}-dataset-hint`} className="muted">
                  {dataset ? (
                    <>
                      {dataset.num_classes ?? "—"} classes, {dataset.num_images} images.{" "}
                      <Link to={`/datasets/${dataset.id}`}>Open {dataset.name}</Link>
                    </>
                  ) : (
                    "Only ready datasets can be trained on."
                  )}
                </small>
              </div>
            ) : null}
            {datasetId && datasets.data && !dataset ? (
              <p className="error" role="alert">
                The dataset in this link is not one of your ready datasets.
              </p>
            ) : null}
          </section>
          <section className="card" aria-labelledby={`${id}-model`}>
            <h2 id={`${id}-model`}>Model</h2>
            <ErrorMessage error={models.error} />
            {models.loading && !models.data ? <Loading /> : null}
            {!dataset ? (
              <p className="muted">Choose a dataset first: the models fit its task.</p>
            ) : models.data ? (
              <ModelCatalog
                models={catalog}
                task={task}
                chosen={{ framework, model: modelName }}
                onChoose={chooseModel}
              />
            ) : null}
          </section>
          {dataset && model ? (
            <TrainingForm
              datasetId={dataset.id}
              framework={model.framework}
              model={model.name}
              task={task}
              params={params}
              setParams={setParams}
              onPresets={onPresets}
            />
          ) : null}
        </div>
        <ChatPanel onAnswer={applyChat} datasetName={dataset?.name} />
      </div>
    </Page>
  );
}
