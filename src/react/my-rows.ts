import { type OmsClient, OmsError } from "../client/index.js";
import { collections } from "./stores.js";
import type { CollectionKind, ListOptions, ListResult, ListRow } from "./types.js";
import { keepUnchanged, ValueStore } from "./value-store.js";

/** What the shared "My" store of one kind holds. */
export interface MyState {
  readonly rows: readonly ListRow[];
  readonly loading: boolean;
  readonly error: OmsError | null;
}

/** The rows of "My" and their changes: `client.quotes.rows()` and `.subscribe(…)`. */
interface RowsSource {
  rows(): Promise<ListRow[]>;
  subscribe(listener: (rows: ListRow[]) => void): () => void;
}

function asOmsError(error: unknown): OmsError {
  return error instanceof OmsError
    ? error
    : new OmsError("INTERNAL", `"My" could not be read: ${String(error)}`, { cause: error });
}

/**
 * The shared store of "My" rows of one kind: every component that lists My quotes reads the same
 * rows, read once from the device and then followed. Each row that did not change keeps its
 * identity across updates.
 */
export interface MyRows {
  readonly store: ValueStore<MyState>;
  /** Reads the rows again from the device. */
  reload(): void;
}

export function myRowsStore(client: OmsClient, kind: CollectionKind): MyRows {
  const source = rowsSource(client, kind);
  let off: (() => void) | undefined;
  let generation = 0;
  const take = (mine: number) => (rows: ListRow[]) => {
    if (mine !== generation) return;
    store.set({ rows: keepUnchanged(store.get().rows, rows), loading: false, error: null });
  };
  const fail = (mine: number) => (error: unknown) => {
    if (mine === generation)
      store.set({ ...store.get(), loading: false, error: asOmsError(error) });
  };
  const reload = () => {
    const mine = generation;
    source.rows().then(take(mine), fail(mine));
  };
  const store: ValueStore<MyState> = new ValueStore<MyState>(
    { rows: [], loading: true, error: null },
    {
      onFirst: () => {
        off = source.subscribe(take(++generation));
        // Read again on every first subscriber: nothing was followed while nobody listened.
        reload();
      },
      onLast: () => {
        generation++;
        off?.();
        off = undefined;
      },
    },
  );
  return { store, reload };
}

function rowsSource(client: OmsClient, kind: CollectionKind): RowsSource {
  return client[collections[kind]];
}

const sortValue: Record<string, (row: ListRow) => string | number> = {
  updated: (r) => r.updatedAt,
  created: (r) => r.createdAt,
  customer: (r) => r.customer.toLowerCase(),
  total: (r) => r.total ?? Number.NEGATIVE_INFINITY,
};

/**
 * Filters and sorts "My" rows on the device with the catalogue's meanings: `q` in customer,
 * project or order number (any case), `state` for orders, `sort` (`updated` by default) and
 * `order` (`desc` by default), ties by id.
 */
export function selectRows(rows: readonly ListRow[], options: ListOptions): readonly ListRow[] {
  const q = options.q?.trim().toLowerCase();
  const by = sortValue[options.sort ?? "updated"] ?? sortValue.updated;
  const sign = options.order === "asc" ? 1 : -1;
  const picked = rows.filter(
    (r) =>
      (!q || `${r.customer}\n${r.project}\n${r.orderNumber ?? ""}`.toLowerCase().includes(q)) &&
      (!options.state || r.state === options.state),
  );
  return picked.sort((a, b) => {
    const x = by?.(a) ?? 0;
    const y = by?.(b) ?? 0;
    if (x !== y) return x < y ? -sign : sign;
    return a.id < b.id ? -sign : a.id > b.id ? sign : 0;
  });
}

/** One component's view of the shared store: its filter and sort, as a `ListResult`. */
export function myListView({ store, reload }: MyRows, options: ListOptions) {
  let from: MyState | undefined;
  let result: ListResult | undefined;
  const noMore = () => undefined;
  const refresh = () => reload();
  return {
    subscribe: store.subscribe,
    get(): ListResult {
      const state = store.get();
      if (result && from === state) return result;
      from = state;
      const rows = keepUnchanged(result?.rows, selectRows(state.rows, options));
      result = {
        rows,
        loading: state.loading,
        error: state.error,
        hasMore: false,
        loadingMore: false,
        loadMore: noMore,
        refresh,
      };
      return result;
    },
  };
}
