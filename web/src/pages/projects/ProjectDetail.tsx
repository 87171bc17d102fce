import { type FormEvent, useState } from "react";
import { Link } from "react-router";
import { useAction, useQuery } from "../../api/hooks";
import { noContent } from "../../api/noContent";
import type { components } from "../../api/schema";
import { ConfirmButton } from "../../components/ConfirmButton";
import { ErrorMessage } from "../../components/ErrorMessage";
import { FormEnd } from "../../components/FormEnd";
import { Fact } from "../../components/Fact";
import { formatDate } from "../../components/format";
import { Loading } from "../../components/Loading";
import { StatusBadge } from "../../components/StatusBadge";
import {
  PROJECT_FIELDS,
  ProjectFields,
  projectBody,
  type ProjectValues,
  type TaskType,
  taskName,
} from "./ProjectFields";

type Project = components["schemas"]["ProjectRead"];

// What a project shows of its datasets and jobs; the lists link to the rest.
const SHOWN = 50;

/** The chosen project: what it holds, and changing or deleting it. */
export function ProjectDetail({
  projectId,
  closeUrl,
  onChanged,
  onDeleted,
}: {
  projectId: string;
  closeUrl: string;
  onChanged: () => void;
  onDeleted: () => void;
}) {
  const path = { project_id: projectId };
  const project = useQuery(
    (api) => api.GET("/api/v1/projects/{project_id}", { params: { path } }),
    [projectId],
  );
  const remove = useAction((api) =>
    noContent(api.DELETE("/api/v1/projects/{project_id}", { params: { path } })),
  );
  const p = project.data;
  return (
    <section className="card" aria-labelledby="project-heading">
      <h2 id="project-heading">{p ? `Project ${p.name}` : "Project"}</h2>
      <ErrorMessage error={project.error} />
      {project.loading && !p ? <Loading /> : null}
      {p ? (
        <>
          <dl className="facts">
            <Fact term="Task">{taskName(p.task_type)}</Fact>
            <Fact term="Created">{formatDate(p.created_at)}</Fact>
            <Fact term="Changed">{formatDate(p.updated_at)}</Fact>
          </dl>
          {p.description ? <p>{p.description}</p> : null}
          <Contents projectId={p.id} />
          <EditProject
            project={p}
            onSaved={() => {
              project.reload();
              onChanged();
            }}
          />
        </>
      ) : null}
      <div className="actions project-actions">
        <Link to={closeUrl}>Close the project</Link>
        {p ? (
          <ConfirmButton
            label="Delete project"
            question={`Delete the project ${p.name}? Its datasets and jobs stay, in no project.`}
            confirmLabel="Yes, delete the project"
            pending={remove.pending}
            onConfirm={async () => {
              if (await remove.run()) onDeleted();
            }}
          />
        ) : null}
      </div>
      <ErrorMessage error={remove.error} />
    </section>
  );
}

function Contents({ projectId }: { projectId: string }) {
  const query = { project_id: projectId, limit: SHOWN, offset: 0 };
  const datasets = useQuery(
    (api) => api.GET("/api/v1/datasets", { params: { query } }),
    [projectId],
  );
  const jobs = useQuery(
    (api) => api.GET("/api/v1/training/jobs", { params: { query } }),
    [projectId],
  );
  return (
    <div className="grid project-contents">
      <div>
        <h3>Datasets ({datasets.data?.total ?? "…"})</h3>
        <ErrorMessage error={datasets.error} />
        {datasets.data && !datasets.data.items.length ? (
          <p className="muted">No dataset in this project.</p>
        ) : null}
        <ul className="plain-list" aria-label="Datasets in the project">
          {datasets.data?.items.map((d) => (
            <li key={d.id}>
              <Link to={`/datasets/${d.id}`}>{d.name}</Link> <StatusBadge status={d.status} />
            </li>
          ))}
        </ul>
      </div>
      <div>
        <h3>Training jobs ({jobs.data?.total ?? "…"})</h3>
        <ErrorMessage error={jobs.error} />
        {jobs.data && !jobs.data.items.length ? (
          <p className="muted">No training job in this project.</p>
        ) : null}
        <ul className="plain-list" aria-label="Training jobs in the project">
          {jobs.data?.items.map((j) => (
            <li key={j.id}>
              <Link to={`/training/${j.id}`}>{j.name ?? `${j.model_name} training`}</Link>{" "}
              <StatusBadge status={j.status} />
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}

function EditProject({ project, onSaved }: { project: Project; onSaved: () => void }) {
  const [values, setValues] = useState<ProjectValues>({
    name: project.name,
    description: project.description ?? "",
    task: (project.task_type ?? "") as TaskType | "",
  });
  const [saved, setSaved] = useState(false);
  const save = useAction((api, v: ProjectValues) =>
    api.PATCH("/api/v1/projects/{project_id}", {
      params: { path: { project_id: project.id } },
      body: projectBody(v),
    }),
  );

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    if (await save.run(values)) {
      setSaved(true);
      onSaved();
    }
  }

  return (
    <form
      className="form project-edit"
      onSubmit={submit}
      noValidate
      aria-labelledby="edit-project"
    >
      <h3 id="edit-project">Rename or change</h3>
      <ProjectFields
        id="edit-project"
        values={values}
        onChange={setValues}
        errors={save.error?.fieldErrors ?? {}}
      />
      <FormEnd
        action={save}
        besideFields={PROJECT_FIELDS}
        submit="Save project"
        done={saved ? "Project saved." : null}
      />
    </form>
  );
}
