import { type FormEvent, useState } from "react";
import { Link } from "react-router";
import { useSearchParams, withChanges } from "../../api/searchParams";
import { useAction, useQuery } from "../../api/hooks";
import { FormEnd } from "../../components/FormEnd";
import { formatDate } from "../../components/format";
import { Page } from "../../components/Page";
import { PagedTable } from "../../components/ListTable";
import {
  PROJECT_FIELDS,
  ProjectFields,
  projectBody,
  type ProjectValues,
  taskName,
} from "./ProjectFields";
import { ProjectDetail } from "./ProjectDetail";
import "./projects.css";

const LIMIT = 20;
const EMPTY: ProjectValues = { name: "", description: "", task: "" };

export default function ProjectsPage() {
  const [params, setParams] = useSearchParams();
  const offset = Number(params.get("offset") ?? 0) || 0;
  const selected = params.get("project");
  const projects = useQuery(
    (api) => api.GET("/api/v1/projects", { params: { query: { limit: LIMIT, offset } } }),
    [offset],
  );

  /** The URL with `changes` applied: a project and a page are each a step back and forth. */
  function withParams(changes: Record<string, string | null>): string {
    const search = withChanges(params, changes).toString();
    return search ? `?${search}` : "?";
  }

  return (
    <Page title="Projects" actions={<Link to="/account">Account</Link>}>
      <p className="muted">
        A project groups datasets and training jobs; choose one when uploading or training.
      </p>
      {selected ? (
        <ProjectDetail
          key={selected}
          projectId={selected}
          closeUrl={withParams({ project: null })}
          onChanged={projects.reload}
          onDeleted={() => {
            projects.reload();
            setParams(new URLSearchParams(withParams({ project: null })), { replace: true });
          }}
        />
      ) : null}
      <CreateProject onCreated={projects.reload} />
      <section aria-labelledby="projects-list">
        <h2 id="projects-list">Your projects</h2>
        <PagedTable
          query={projects}
          label="Projects"
          page={{
            limit: LIMIT,
            offset,
            onOffset: (next) =>
              setParams(withChanges(params, { offset: next ? String(next) : null })),
          }}
          empty="No project yet."
          columns={["Name", "Task", "Description", "Created"]}
          row={(p) => (
            <tr key={p.id} aria-current={p.id === selected ? "true" : undefined}>
              <td>
                <Link to={withParams({ project: p.id })}>{p.name}</Link>
              </td>
              <td>{taskName(p.task_type)}</td>
              <td className="project-description">{p.description ?? "—"}</td>
              <td>{formatDate(p.created_at)}</td>
            </tr>
          )}
        />
      </section>
    </Page>
  );
}

function CreateProject({ onCreated }: { onCreated: () => void }) {
  const [values, setValues] = useState<ProjectValues>(EMPTY);
  const [created, setCreated] = useState<string | null>(null);
  const create = useAction((api, v: ProjectValues) =>
    api.POST("/api/v1/projects", { body: projectBody(v) }),
  );

  async function submit(event: FormEvent) {
    event.preventDefault();
    setCreated(null);
    const project = await create.run(values);
    if (project) {
      setCreated(project.name);
      setValues(EMPTY);
      onCreated();
    }
  }

  return (
    <section className="card" aria-labelledby="create-project">
      <h2 id="create-project">New project</h2>
      <form className="form" onSubmit={submit} noValidate>
        <ProjectFields
          id="new-project"
          values={values}
          onChange={setValues}
          errors={create.error?.fieldErrors ?? {}}
        />
        <FormEnd
          action={create}
          besideFields={PROJECT_FIELDS}
          submit="Create project"
          done={created ? <>Project {created} created.</> : null}
        />
      </form>
    </section>
  );
}
