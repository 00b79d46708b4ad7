// "All quotes" / "All orders": every document the user may read, searched on the relay's
// catalogue (connected only). Rows are a view, never kept on the device; opening one opens the
// document, kept in memory only unless it is in "My".
import {
  type CatalogueEntry,
  type CatalogueSort,
  type CurrencyCode,
  formatMoney,
  OmsError,
  type OrderState,
} from "oms-sync";
import { useEffect, useRef, useState } from "react";
import { shortDate } from "../format.js";
import { useClient, useSyncStatus } from "../live.js";
import { href } from "../route.js";

/** Rows per page: "Load more" asks for the next. */
export const PAGE_SIZE = 20;

const sorts = {
  "updated-desc": "Latest change first",
  "updated-asc": "Oldest change first",
  "created-desc": "Newest first",
  "customer-asc": "Customer A–Z",
  "customer-desc": "Customer Z–A",
  "total-desc": "Highest total first",
  "total-asc": "Lowest total first",
} as const;
type SortKey = keyof typeof sorts;

const states: Record<"" | OrderState, string> = {
  "": "Any state",
  draft: "Draft",
  pending: "Waiting for sync",
  submitted: "Submitted",
  rejected: "Rejected",
};

interface Listing {
  rows: CatalogueEntry[];
  /** The search these rows answer: text, sort and state. */
  query: string;
  sort: string;
  state: string;
  next: string | null;
  loading: boolean;
  error: Error | null;
}

export function Catalogue({ kind }: { kind: "quote" | "order" }) {
  const c = useClient();
  const connected = useSyncStatus().state !== "offline";
  const [typed, setTyped] = useState("");
  const [q, setQ] = useState("");
  const [sort, setSort] = useState<SortKey>("updated-desc");
  const [state, setState] = useState<"" | OrderState>("");
  const [list, setList] = useState<Listing>({
    rows: [],
    query: "",
    sort: "",
    state: "",
    next: null,
    loading: true,
    error: null,
  });
  const request = useRef(0);
  const title = kind === "quote" ? "All quotes" : "All orders";

  // Typing settles before the relay is asked.
  useEffect(() => {
    const t = setTimeout(() => setQ(typed.trim()), 250);
    return () => clearTimeout(t);
  }, [typed]);

  const load = async (cursor: string | null) => {
    const mine = ++request.current;
    setList((l) => ({
      ...(cursor ? l : { rows: [], next: null, query: q, sort, state }),
      loading: true,
      error: null,
    }));
    const [by, order] = sort.split("-") as [CatalogueSort, "asc" | "desc"];
    const collection = kind === "quote" ? c.quotes : c.orders;
    try {
      const page = await collection.search({
        ...(q ? { q } : {}),
        ...(state ? { state } : {}),
        sort: by,
        order,
        limit: PAGE_SIZE,
        ...(cursor ? { cursor } : {}),
      });
      if (mine !== request.current) return;
      setList((l) => ({
        rows: cursor ? [...l.rows, ...page.rows] : page.rows,
        query: q,
        sort,
        state,
        next: page.next,
        loading: false,
        error: null,
      }));
    } catch (err) {
      if (mine === request.current) setList((l) => ({ ...l, loading: false, error: err as Error }));
    }
  };

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new search when what it asks changes.
  useEffect(() => {
    if (connected) void load(null);
  }, [connected, q, sort, state, kind]);

  const offline = !connected || (list.error instanceof OmsError && list.error.code === "OFFLINE");
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
          {title} needs a connection to the relay, and this device is offline. Your own{" "}
          {kind === "quote" ? <a href="#/quotes">quotes</a> : <a href="#/orders">orders</a>} are on
          this device and work without one.
        </p>
      ) : list.error ? (
        <p className="reason" data-testid="error">
          {list.error.message}
        </p>
      ) : (
        <Rows kind={kind} list={list} onMore={() => void load(list.next)} />
      )}
    </div>
  );
}

function Rows({
  kind,
  list,
  onMore,
}: {
  kind: "quote" | "order";
  list: Listing;
  onMore: () => void;
}) {
  const columns = kind === "order" ? 7 : 6;
  return (
    <>
      <table
        className="list catalogue"
        data-testid="catalogue-list"
        data-query={list.query}
        data-sort={list.sort}
        data-state={list.state}
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
            <tr key={r.id} data-testid={`row-${r.id}`}>
              <td data-label="Project">
                <a href={href(kind, r.id)}>{r.project || "(untitled)"}</a>
              </td>
              {kind === "order" && (
                <td data-label="Status">
                  <RowState row={r} />
                </td>
              )}
              <td data-label="Customer">{r.customer}</td>
              <td data-label="Owner">{r.owner}</td>
              <td className="num" data-label="Lines">
                {r.lines}
              </td>
              <td className="num" data-label="Total">
                {r.total === null || r.currency === null
                  ? "—"
                  : formatMoney({ currency: r.currency as CurrencyCode, minor: r.total })}
              </td>
              <td className="num" data-label="Changed">
                {shortDate(r.updatedAt)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="actions list-footer">
        <span className="muted" data-testid="catalogue-count">
          {list.loading ? "Loading…" : `${list.rows.length} shown${list.next ? "" : ", all"}`}
        </span>
        {list.next && (
          <button
            type="button"
            className="secondary"
            data-testid="catalogue-more"
            disabled={list.loading}
            onClick={onMore}
          >
            Load more
          </button>
        )}
      </p>
    </>
  );
}

function RowState({ row }: { row: CatalogueEntry }) {
  switch (row.state) {
    case "submitted":
      return (
        <>
          <span className="badge submitted">{row.orderNumber}</span>{" "}
          <span className="muted">rev. {row.revision}</span>
        </>
      );
    case "pending":
      return <span className="badge pending">Waiting for sync</span>;
    case "rejected":
      return <span className="badge rejected">Rejected</span>;
    default:
      return <span className="badge">Draft</span>;
  }
}
