import type {
  AssistanceRequest,
  CatalogueEntry,
  CatalogueSearch,
  GatedFunction,
  GateState,
  InboxMessage,
  MessageId,
  OmsDocumentHandle,
  OmsError,
  Order,
  QuarantineEntry,
  Quote,
} from "../client/index.js";

/** The kinds of document a user opens, creates and lists. */
export type CollectionKind = "quote" | "order" | "assistance";

/** The document type of each kind. */
export interface KindDocuments {
  quote: Quote;
  order: Order;
  assistance: AssistanceRequest;
}

/**
 * Changes the document through the library's mutations; the same checks as
 * `OmsDocumentHandle.change`. Errors (`ValidationError`, `WriteRefusedError`,
 * `FeatureDisabledError`) are thrown to the caller: call it from an event handler and catch them
 * there, never during render.
 */
export type ChangeFn<T> = <R>(fn: (doc: T) => R) => R;

/**
 * What `useDocument` returns: the document now (a new object after every change, the same object
 * otherwise), a `change` function that keeps its identity for the life of the document, and the
 * handle (for `subscribe` outside React, or the document's `url`).
 */
export type DocumentResult<T> = readonly [
  doc: T,
  change: ChangeFn<T>,
  handle: OmsDocumentHandle<T>,
];

/** What `useDocument(null)` returns: nothing open; `change` throws INVALID_INPUT. */
export type NoDocumentResult<T> = readonly [doc: undefined, change: ChangeFn<T>, handle: undefined];

/**
 * Options of `useQuotes`, `useOrders` and `useAssistance`.
 *
 * - `scope: "my"` (the default): the user's own documents, from the device: works offline, and
 *   follows every local and remote change. `q`, `state`, `sort` and `order` filter and sort
 *   them on the device, with the catalogue's meanings; `owner`, `cursor` and `limit` are ignored.
 * - `scope: "all"`: the relay's catalogue (connected only): everything the user may read, a page
 *   at a time (`loadMore`). Not connected: `error` is an `OmsError` `OFFLINE`, and the search
 *   runs again by itself once the device is connected.
 */
export interface ListOptions extends Omit<CatalogueSearch, "scope" | "cursor"> {
  scope?: "my" | "all";
}

/** One row of a list: the catalogue's fields of a document, never the document itself. */
export type ListRow = CatalogueEntry;

/**
 * What the list hooks return. `rows` keeps its identity, and so does each row that did not
 * change, so a row component wrapped in `React.memo` re-renders only when its own row changed.
 */
export interface ListResult {
  readonly rows: readonly ListRow[];
  /** The first page (or the device's list) is being read. */
  readonly loading: boolean;
  /** The last read failed (`OFFLINE` for the catalogue while not connected); rows stay as they were. */
  readonly error: OmsError | null;
  /** The catalogue has more rows: `loadMore()` appends the next page. Always false for "my". */
  readonly hasMore: boolean;
  /** A next page is being read. */
  readonly loadingMore: boolean;
  /** Appends the next page of the catalogue; does nothing when there is none or one is loading. */
  loadMore(): void;
  /** Reads the list again from the start (the catalogue is a view: it does not push changes). */
  refresh(): void;
}

/** The staleness gate as `useGate()` returns it: the state, and `isEnabled` judged on it. */
export interface GateView extends GateState {
  /** Whether the gate lets `fn` run now (`createQuote`, `submitOrder`, …). */
  isEnabled(fn: GatedFunction): boolean;
  /**
   * `Date.now()` when this state was read. The view changes only when the level, the days or the
   * disabled functions change, so `ageMs` is the age then: the age now is about
   * `ageMs + (Date.now() - observedAt)`.
   */
  readonly observedAt: number;
}

/** What `useQuarantine()` returns. */
export interface QuarantineView {
  /** Documents whose local changes the relay refused, newest first as the client lists them. */
  readonly entries: readonly QuarantineEntry[];
  readonly loading: boolean;
  readonly error: OmsError | null;
  /** The document as this device had it and the refused changes, as JSON text (to download). */
  export(documentId: string): Promise<string>;
  /** Forgets an entry once its content was passed on; false if there was none. */
  discard(documentId: string): Promise<boolean>;
}

/** One inbox message with whether the user marked it read. */
export type InboxItem = InboxMessage & { readonly id: MessageId; readonly read: boolean };

/** What `useInbox()` returns. */
export interface InboxView {
  /** Newest first. */
  readonly messages: readonly InboxItem[];
  /** How many are not marked read. */
  readonly unread: number;
  readonly loading: boolean;
  readonly error: OmsError | null;
  markRead(id: MessageId | string): Promise<void>;
}
