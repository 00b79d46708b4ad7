import { useMemo, useRef, useSyncExternalStore } from "react";
import { CatalogueQuery } from "./catalogue-query.js";
import { myListView, myRowsStore } from "./my-rows.js";
import { useStores } from "./provider.js";
import type { CollectionKind, ListOptions, ListResult } from "./types.js";

/** The options as a key: a new object with the same options is the same list. */
function keyOf(options: ListOptions): string {
  return JSON.stringify(Object.entries(options).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function useList(kind: CollectionKind, options: ListOptions = {}): ListResult {
  const stores = useStores();
  const key = keyOf(options);
  const last = useRef<ListResult | undefined>(undefined);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for `options`
  const source = useMemo(() => {
    if (options.scope === "all") {
      const { scope: _scope, ...search } = options;
      return new CatalogueQuery(stores.client, kind, search, last.current?.rows);
    }
    const my = stores.lazy(`my:${kind}`, () => myRowsStore(stores.client, kind));
    return myListView(my, options);
  }, [stores, kind, key]);
  const result = useSyncExternalStore(source.subscribe, source.get, source.get);
  last.current = result;
  return result;
}

/**
 * Quotes as rows: by default "My Quotes" from the device (offline too, following every local
 * and remote change); with `{ scope: "all", q, sort, … }` the relay's catalogue, a page at a time.
 * Never suspends and never throws: `loading` and `error` are values (`OFFLINE` for the
 * catalogue while not connected; it searches again by itself once connected).
 *
 * Rows keep their identity while unchanged: render each with a `React.memo` component and a
 * change to one quote re-renders one row. Open a row's document with `useDocument(row.id, "quote")`.
 *
 * @example
 * ```tsx
 * const { rows, loading } = useQuotes();
 * const found = useQuotes({ scope: "all", q: "lake", sort: "total" });
 * return <ul>{rows.map((row) => <QuoteRow key={row.id} row={row} />)}</ul>;
 * ```
 */
export function useQuotes(options?: ListOptions): ListResult {
  return useList("quote", options);
}

/**
 * Orders as rows: "My Orders" by default, the catalogue with `{ scope: "all", … }` (`state`
 * filters by submission state). The same rules as {@link useQuotes}.
 */
export function useOrders(options?: ListOptions): ListResult {
  return useList("order", options);
}

/**
 * Assistance requests as rows (`project` is the subject): "My" by default, the catalogue with
 * `{ scope: "all", … }`. The same rules as {@link useQuotes}.
 */
export function useAssistance(options?: ListOptions): ListResult {
  return useList("assistance", options);
}
