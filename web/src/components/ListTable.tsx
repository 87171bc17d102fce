// A list the API answers, shown the one way every list screen shows it: the API's error,
// "Loading…" until the first answer, a sentence when it holds nothing, the table, and
// (for a paged list) previous / next.
import type { ReactNode, TableHTMLAttributes } from "react";
import type { ApiError } from "../api/errors";
import type { Paging } from "../api/hooks";
import { ErrorMessage } from "./ErrorMessage";
import { Loading } from "./Loading";
import { Pager } from "./Pager";

/** What a list needs to know of its query (a useQuery result). */
interface Listed<D> {
  data: D | undefined;
  error: ApiError | null;
  loading: boolean;
}

interface ListTableProps<T> {
  query: Listed<unknown>;
  items: readonly T[];
  /** The column headers, in order. */
  columns: readonly string[];
  /** One item's row: a <tr> with its key. */
  row: (item: T, index: number) => ReactNode;
  /** Said when the answer holds nothing; absent, nothing is said. */
  empty?: ReactNode;
  /** The error to show instead of the query's (such as an action's, or either). */
  error?: ApiError | null;
  /** The table's own attributes (its aria-label, aria-labelledby). */
  table?: TableHTMLAttributes<HTMLTableElement>;
}

export function ListTable<T>({
  query,
  items,
  columns,
  row,
  empty,
  error,
  table,
}: ListTableProps<T>) {
  return (
    <>
      <ErrorMessage error={error === undefined ? query.error : error} />
      {query.loading && !query.data ? <Loading /> : null}
      {query.data && !items.length && empty ? <p className="muted">{empty}</p> : null}
      {items.length ? (
        <div className="table-scroll">
          <table {...table}>
            <thead>
              <tr>
                {columns.map((c) => (
                  <th key={c} scope="col">
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>{items.map(row)}</tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}

interface PagedTableProps<T> extends Omit<ListTableProps<T>, "query" | "items"> {
  /** A paged list's query: the API answers {items, total} for a limit and an offset. */
  query: Listed<{ items: T[]; total: number }>;
  /** The pager's name ("… pages"). */
  label: string;
  page: Paging;
}

/** ListTable for a list the API pages with limit and offset, with its pager below. */
export function PagedTable<T>({ query, label, page, ...list }: PagedTableProps<T>) {
  return (
    <>
      <ListTable query={query} items={query.data?.items ?? []} {...list} />
      {query.data ? (
        <Pager label={label} total={query.data.total} {...page} />
      ) : null}
    </>
  );
}
