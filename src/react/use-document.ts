import { useMemo, useSyncExternalStore } from "react";
import {
  type AssistanceRequest,
  type DocId,
  type OmsDocumentHandle,
  OmsError,
  type Order,
  type Quote,
} from "../client/index.js";
import { useStores } from "./provider.js";
import type {
  ChangeFn,
  CollectionKind,
  DocumentResult,
  KindDocuments,
  NoDocumentResult,
} from "./types.js";

const nothing = {
  subscribe: () => () => undefined,
  get: () => undefined,
};

const noChange: ChangeFn<never> = () => {
  throw new OmsError(
    "INVALID_INPUT",
    "no document is open here (its id is null): nothing to change",
  );
};

const handleStores = new WeakMap<
  OmsDocumentHandle<unknown>,
  { subscribe: (l: () => void) => () => void; get: () => unknown }
>();

/** A handle's own store: its `doc()` is already the same object until the document changes. */
function storeOfHandle<T>(handle: OmsDocumentHandle<T>) {
  let store = handleStores.get(handle as OmsDocumentHandle<unknown>);
  if (!store) {
    store = {
      subscribe: (listener) => handle.subscribe(() => listener()),
      get: () => handle.doc(),
    };
    handleStores.set(handle as OmsDocumentHandle<unknown>, store);
  }
  return store as { subscribe: (l: () => void) => () => void; get: () => T };
}

/**
 * A document, followed through every local and remote change.
 *
 * - With an id (or `automerge:` URL) and a kind, it opens the document through the client
 *   (`client.quotes.open(id)`, …). While it opens, the component **suspends** (wrap it in
 *   `<Suspense>`); a failed open (`NOT_FOUND`, `OFFLINE`, a document of another kind) is
 *   **thrown to the nearest error boundary**. An opened document stays open while any component
 *   reads it, and 30 s after (reactDefaults.keepUnusedMs).
 * - With a handle (from `create` or `open`), it never suspends.
 * - With `null` or `undefined`, nothing is open: `doc` is undefined (hooks cannot be called
 *   conditionally, so a page with no selection passes null).
 *
 * The component re-renders when this document changes, and not when any other does.
 *
 * @returns `[doc, change, handle]`; `change` keeps its identity, and throws its validation
 * errors to its caller (an event handler).
 *
 * @example
 * ```tsx
 * function ProjectName({ id }: { id: string }) {
 *   const [quote, change] = useDocument(id, "quote");
 *   return (
 *     <input
 *       value={quote.projectName}
 *       onChange={(e) => change((q) => setHeader(q, { projectName: e.target.value }))}
 *     />
 *   );
 * }
 * ```
 */
export function useDocument<T>(handle: OmsDocumentHandle<T>): DocumentResult<T>;
export function useDocument<K extends CollectionKind>(
  id: DocId | string,
  kind: K,
): DocumentResult<KindDocuments[K]>;
export function useDocument<K extends CollectionKind>(
  id: DocId | string | null | undefined,
  kind: K,
): DocumentResult<KindDocuments[K]> | NoDocumentResult<KindDocuments[K]>;
export function useDocument(
  source: OmsDocumentHandle<unknown> | string | null | undefined,
  kind?: CollectionKind,
): DocumentResult<unknown> | NoDocumentResult<unknown> {
  const stores = useStores();
  let handle: OmsDocumentHandle<unknown> | undefined;
  let store: { subscribe: (l: () => void) => () => void; get: () => unknown } = nothing;
  if (typeof source === "string") {
    if (!kind)
      throw new OmsError(
        "INVALID_INPUT",
        `useDocument("${source}") needs the kind of the document: useDocument(id, "quote" | "order" | "assistance")`,
      );
    // Throws the pending promise (Suspense) or the open's error (error boundary).
    const opened = stores.document(kind, source).read();
    handle = opened.extra;
    store = opened.store;
  } else if (source) {
    handle = source;
    store = storeOfHandle(source);
  }
  const doc = useSyncExternalStore(store.subscribe, store.get, store.get);
  const change = useMemo(
    () => (handle ? (fn: (d: unknown) => unknown) => handle.change(fn) : noChange),
    [handle],
  ) as ChangeFn<unknown>;
  return handle ? [doc, change, handle] : [undefined, change, undefined];
}

/** `useDocument(id, "quote")`: a quote, followed (suspends while it opens). */
export function useQuote(id: DocId | string): DocumentResult<Quote> {
  return useDocument(id, "quote");
}

/** `useDocument(id, "order")`: an order, followed (suspends while it opens). */
export function useOrder(id: DocId | string): DocumentResult<Order> {
  return useDocument(id, "order");
}

/** `useDocument(id, "assistance")`: an assistance request, followed (suspends while it opens). */
export function useAssistanceRequest(id: DocId | string): DocumentResult<AssistanceRequest> {
  return useDocument(id, "assistance");
}

/**
 * Forgets every failed open, so the next render opens again: call it from an error boundary's
 * retry button before resetting the boundary. (A change of sync state, such as connecting, does
 * the same by itself.)
 *
 * @example
 * ```tsx
 * const retry = useRetry();
 * <button onClick={() => { retry(); resetErrorBoundary(); }}>Try again</button>
 * ```
 */
export function useRetry(): () => void {
  const stores = useStores();
  return useMemo(() => () => stores.resources.forgetFailed(), [stores]);
}
