// "All quotes" / "All orders": every document the user may read, searched on the relay's
// catalogue (connected only). Rows are a view, never kept on the device; opening one opens the
// document, kept in memory only unless it is in "My".
import type { CatalogueSort, OrderState } from "oms-sync";
import {
  type ListResult,
  type ListRow,
  useClient,
  useOrders,
  useQuotes,
  useSyncStatus,
} from "oms-sync/react";
import { useEffect, useState } from "react";
import { DocumentRow } from "./DocumentRow.js";

/**
 * The rows seen in this page's life, by id. An order's number and outcome are in its owner's
 * ledger, which only the owner reads: a manager who opens a rep's order from "All orders" learns
 * them from the catalogue's row.
 */
const seen = new Map<string, ListRow>();

/** The catalogue's row of a document, if this page listed it. */
export const seenRow = (id: string): ListRow | undefined => seen.get(id);

/** Rows per page: "Load more" asks for the next. */
export const PAGE_SIZE = 20;

const sorts = {
  "updated-desc": "Latest change",
  "updated-asc": "Oldest change",
  "created-desc": "Newest",
  "customer-asc": "Customer A–Z",
  "customer-desc": "Customer Z–A",
  "total-desc": "Highest total",
  "total-asc": "Lowest total",
} as const;
type SortKey = keyof typeof sorts;

const states: Record<"" | OrderState, string> = {
  "": "Any state",
  draft: "Draft",
  pending: "Waiting for sync",
  submitted: "Submitted",
  rejected: "Rejected",
};

export function Catalogue({ kind }: { kind: "quote" | "order" }) {
  const offlineNow = useSyncStatus((s) => s.state === "offline");
  const [typed, setTyped] = useState("");
  const [q, setQ] = useState("");
  const [sort, setSort] = useState<SortKey>("updated-desc");
  const [state, setState] = useState<"" | OrderState>("");
  const title = kind === "quote" ? "All quotes" : "All orders";

  // Typing settles before the relay is asked.
  useEffect(() => {
    const t = setTimeout(() => setQ(typed.trim()), 250);
    return () => clearTimeout(t);
  }, [typed]);

  const [by, order] = sort.split("-") as [CatalogueSort, "asc" | "desc"];
  // The view is mounted for one kind (App keys it), so the same hook runs on every render.
  const list = (kind === "quote" ? useQuotes : useOrders)({
    scope: "all",
    ...(q ? { q } : {}),
    ...(state ? { state } : {}),
    sort: by,
    order,
    limit: PAGE_SIZE,
  });
  const offline = offlineNow || list.error?.code === "OFFLINE";
  const keepsMy = useClient().user.offline;
  useEffect(() => {
    for (const row of list.rows) seen.set(row.id, row);
  }, [list.rows]);
  return (
    <div className="card" data-testid="catalogue">
      <h2>{title}</h2>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <input
          type="search"
          placeholder={kind === "quote" ? "Customer or project" : "Customer, project or number"}
          aria-label={`Search ${title.toLowerCase()}`}
          data-testid="catalogue-search"
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
        />
        <select
          aria-label="Sort"
          data-testid="catalogue-sort"
          value={sort}
          onChange={(e) => setSort(e.target.value as SortKey)}
        >
          {Object.entries(sorts).map(([key, label]) => (
            <option key={key} value={key}>
              {label}
            </option>
          ))}
        </select>
        {kind === "order" && (
          <select
            aria-label="State"
            data-testid="catalogue-state"
            value={state}
            onChange={(e) => setState(e.target.value as "" | OrderState)}
          >
            {Object.entries(states).map(([key, label]) => (
              <option key={key} value={key}>
                {label}
              </option>
            ))}
          </select>
        )}
      </form>
      {offline ? (
        <p className="offline-note" data-testid="catalogue-offline">
          {title} needs a connection to the relay, and this device is offline.{" "}
          {keepsMy ? (
            <>
              Your own{" "}
              {kind === "quote" ? <a href="#/quotes">quotes</a> : <a href="#/orders">orders</a>} are
              on this device and work without one.
            </>
          ) : (
            "Your account works while connected only: nothing is kept on this device."
          )}
        </p>
      ) : list.error ? (
        <p className="reason" data-testid="error">
          {list.error.message}
        </p>
      ) : (
        <Rows kind={kind} list={list} answers={{ q, sort, state }} />
      )}
    </div>
  );
}

function Rows({
  kind,
  list,
  answers,
}: {
  kind: "quote" | "order";
  list: ListResult;
  /** The search these rows answer (for tests and assistive technology: busy until they do). */
  answers: { q: string; sort: string; state: string };
}) {
  const columns = kind === "order" ? 7 : 6;
  return (
    <>
      <table
        className="list catalogue"
        data-testid="catalogue-list"
        data-query={answers.q}
        data-sort={answers.sort}
        data-state={answers.state}
        aria-busy={list.loading}
      >
        <thead>
          <tr>
            <th>Project</th>
            {kind === "order" && <th>Status</th>}
            <th>Customer</th>
            <th>Owner</th>
            <th className="num">Lines</th>
            <th className="num">Total</th>
            <th className="num">Changed</th>
          </tr>
        </thead>
        <tbody>
          {!list.loading && list.rows.length === 0 && (
            <tr>
              <td colSpan={columns} className="muted" data-testid="catalogue-empty">
                Nothing you may see matches.
              </td>
            </tr>
          )}
          {list.rows.map((r) => (
            <DocumentRow key={r.id} row={r} kind={kind} catalogue />
          ))}
        </tbody>
      </table>
      <p className="actions list-footer">
        <span className="muted" data-testid="catalogue-count">
          {list.loading ? "Loading…" : `${list.rows.length} shown${list.hasMore ? "" : ", all"}`}
        </span>
        {list.hasMore && (
          <button
            type="button"
            className="secondary"
            data-testid="catalogue-more"
            disabled={list.loadingMore}
            onClick={list.loadMore}
          >
            {list.loadingMore ? "Loading…" : "Load more"}
          </button>
        )}
      </p>
    </>
  );
}
