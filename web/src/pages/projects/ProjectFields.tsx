import type { components } from "../../api/schema";
import { Field } from "../../components/Field";

export type TaskType = NonNullable<components["schemas"]["ProjectCreate"]["task_type"]>;

// Typed by the API's schema: a task it adds or drops fails tsc here.
const TASKS: Record<TaskType, string> = {
  image_classification: "Image classification",
  object_detection: "Object detection",
  instance_segmentation: "Instance segmentation",
  semantic_segmentation: "Semantic segmentation",
  pose_estimation: "Pose estimation",
};

export function taskName(task: string | null): string {
  return task && task in TASKS ? TASKS[task as TaskType] : (task ?? "—");
}

export interface ProjectValues {
  name: string;
  description: string;
  task: TaskType | "";
}

export const PROJECT_FIELDS = ["name", "description", "task_type"];

export function projectBody(v: ProjectValues) {
  return { name: v.name, description: v.description || null, task_type: v.task || null };
}

/** Name, description and task: the fields of creating and of changing a project. */
export function ProjectFields({
  id,
  values,
  onChange,
  errors,
}: {
  id: string;
  values: ProjectValues;
  onChange: (values: ProjectValues) => void;
  errors: Record<string, string>;
}) {
  return (
    <>
      <Field
        label="Name"
        required
        value={values.name}
        onChange={(e) => onChange({ ...values, name: e.target.value })}
        error={errors.name}
      />
      <Field
        label="Description"
        value={values.description}
        onChange={(e) => onChange({ ...values, description: e.target.value })}
        error={errors.description}
      />
      <div className="field">
        <label htmlFor={`${id}-task`}>Task</label>
        <select
          id={`${id}-task`}
          value={values.task}
          aria-invalid={errors.task_type ? true : undefined}
          aria-describedby={errors.task_type ? `${id}-task-error` : undefined}
          onChange={(e) => onChange({ ...values, task: e.target.value as TaskType | "" })}
        >
          <option value="">Any task</option>
          {(Object.keys(TASKS) as TaskType[]).map((t) => (
            <option key={t} value={t}>
              {TASKS[t]}
            </option>
          ))}
        </select>
        {errors.task_type ? (
          <small id={`${id}-task-error`} className="field-error">
            {errors.task_type}
          </small>
        ) : null}
      </div>
    </>
  );
}
