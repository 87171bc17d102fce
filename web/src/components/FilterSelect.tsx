import { useId } from "react";

/** A choice: its value, or its value and the words shown for it. */
export type FilterOption = string | readonly [value: string, label: string];

/** A list's filter: a select beside its label, whose first choice ("") is no filter. */
export function FilterSelect({
  label,
  value,
  onChange,
  options,
  any = "Any",
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  options: readonly FilterOption[];
  /** The words for "no filter". */
  any?: string;
}) {
  const id = useId();
  return (
    <div className="field inline-field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">{any}</option>
        {options.map((o) => {
          const [v, words] = typeof o === "string" ? [o, o] : o;
          return (
            <option key={v} value={v}>
              {words}
            </option>
          );
        })}
      </select>
    </div>
  );
}
