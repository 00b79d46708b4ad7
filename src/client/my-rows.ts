import * as A from "@automerge/automerge";
import {
  type DocHandle,
  decodeHeads,
  type StorageAdapterInterface,
} from "@automerge/automerge-repo/slim";
import type { CatalogueEntry, CatalogueKind } from "../docs/catalogue.js";
import { type DerivedRow, deriveRow } from "../docs/catalogue-row.js";
import type { DocId, RequestId } from "../docs/ids.js";
import { documentMeta } from "../docs/kinds.js";
import type { Ledger, Order, SubmissionOutcome, WorkspaceEntry } from "../docs/types.js";
import { standingAcceptance, submissionState } from "../policy/submission-state.js";

/**
 * One document of "My" as a list view shows it: the same shape as a catalogue search result
 * (`CatalogueEntry`), so one list component shows both.
 */
export type MyRow = CatalogueEntry;

/** Where the rows live on the device: one small record per document, `["oms-rows", id]`. */
const ROWS = "oms-rows";
/** Bumped when the stored shape or the derivation changes: older rows are rebuilt. */
const ROW_VERSION = 1;

/** What is kept per document: the derived fields, the heads they were derived at, the requests. */
interface StoredRow extends DerivedRow {
  v: number;
  /** Hex heads of the document the row was derived from. */
  heads: string[];
  /** An order's submission request ids (its state comes from the ledger when listing). */
  requests: string[];
}

export interface MyRowsContext {
  /** The user's partition of the device; undefined for online-only users (rows kept in memory). */
  device: StorageAdapterInterface | undefined;
  /** The Repo's handle of a document, if it has one. */
  handle(id: string): DocHandle<unknown> | undefined;
  /** The document's chunks as stored on the device, merged, or undefined if none. */
  stored(id: string): Promise<Uint8Array | undefined>;
  /** Opens the document through the client (device or relay); rejects when it cannot. */
  open(id: string): Promise<DocHandle<unknown>>;
  /** The "My" entries of the user's workspace. */
  my(): Promise<Record<string, WorkspaceEntry>>;
  /**
   * The ids in "My" as the client knows them without loading the workspace (the list it keeps
   * on the device), or undefined when it has none: listing then reads the workspace.
   */
  myIds?(): Iterable<string> | undefined;
  ledger(): Promise<Ledger | undefined>;
}

type Listener = (rows: MyRow[]) => void;

/**
 * The rows of "My", kept as a small index beside the documents: listing reads the index, never
 * the documents. A row is derived again when its document changes (a local edit or a remote
 * change stored on the device); a row that is missing or out of date is rebuilt from the
 * document's stored bytes, which are loaded for that and dropped again.
 */
export class MyRows {
  readonly #ctx: MyRowsContext;
  readonly #cache = new Map<string, StoredRow>();
  #loaded: Promise<void> | undefined;
  readonly #listeners = new Map<CatalogueKind, Set<Listener>>();
  /** Documents changed since the last batch, to derive again. */
  readonly #touched = new Set<string>();
  #batch: ReturnType<typeof setTimeout> | undefined;
  readonly #pendingKinds = new Set<CatalogueKind>();
  #emit: ReturnType<typeof setTimeout> | undefined;
  readonly #writes = new Set<Promise<unknown>>();
  #closed = false;
  #rebuilt = 0;

  constructor(ctx: MyRowsContext) {
    this.#ctx = ctx;
  }

  /** The rows of one kind in "My", most recently updated first. */
  async rows(kind: CatalogueKind): Promise<MyRow[]> {
    const [ids, ledger] = await Promise.all([
      this.#myOf(kind),
      kind === "order" ? this.#ctx.ledger().catch(() => undefined) : undefined,
      this.#load(),
    ]);
    const outcomes = kind === "order" ? outcomesByOrder(ledger) : undefined;
    const rows: MyRow[] = [];
    for (const id of ids) {
      const row = this.#fresh(id) ?? (await this.#current(id));
      if (row?.kind === kind) rows.push(entryOf(id, row, outcomes));
    }
    return rows.sort((a, b) => b.updatedAt - a.updatedAt || (a.id < b.id ? -1 : 1));
  }

  /** Rows derived from stored bytes (each document loaded and dropped) since the start. */
  get rebuilt(): number {
    return this.#rebuilt;
  }

  /**
   * The ids of "My" that may be of `kind`: from the list the client keeps when it has one (no
   * workspace to load; a kept row tells the kind), else from the workspace's entries.
   */
  async #myOf(kind: CatalogueKind): Promise<Iterable<string>> {
    const known = this.#ctx.myIds?.();
    // A copy: the list may change while rows are rebuilt.
    if (known) return [...known];
    const ids: string[] = [];
    for (const [id, entry] of Object.entries(await this.#ctx.my()))
      if (entry.kind === kind) ids.push(id);
    return ids;
  }

  /**
   * A document written with the row the relay derived from exactly its bytes (a bulk first
   * sync): kept as if derived here, so listing it loads nothing. A document open here keeps
   * the row of its handle.
   */
  received(id: string, heads: readonly string[], row: unknown): void {
    if (this.#closed || !isDerivedRow(row) || this.#ctx.handle(id)?.isReady()) return;
    // Its write was heard as a change without a handle, which would drop the row: not needed.
    this.#touched.delete(id);
    const kept: StoredRow = {
      v: ROW_VERSION,
      ...row,
      heads: [...heads],
      // The relay sends how many requests an order has, not their ids (see entryOf).
      requests: [],
    };
    this.#cache.set(id, kept);
    this.#write(this.#ctx.device?.save([ROWS, id], encodeRow(kept)));
    this.changedKind(kept.kind);
  }

  /** Calls `listener` with the rows of `kind` whenever they may have changed. */
  subscribe(kind: CatalogueKind, listener: Listener): () => void {
    let set = this.#listeners.get(kind);
    if (!set) {
      set = new Set();
      this.#listeners.set(kind, set);
    }
    set.add(listener);
    // Listings start from the kept list of My ids, which may be behind the workspace (changed on
    // another device while this one was closed): once the workspace is read, listeners hear.
    if (this.#ctx.myIds)
      void this.#ctx.my().then(
        () => this.changedKind(kind),
        () => undefined,
      );
    return () => {
      set.delete(listener);
    };
  }

  /** A document changed (or was stored by a sync): its row is derived again soon. */
  touched(id: string): void {
    if (this.#closed) return;
    this.#touched.add(id);
    this.#batch ??= setTimeout(() => {
      this.#batch = undefined;
      void this.#refresh();
    }, 0);
  }

  /** A document left the device: its row goes with it. */
  forget(id: string): void {
    const row = this.#cache.get(id);
    this.#cache.delete(id);
    this.#write(this.#ctx.device?.remove([ROWS, id]));
    if (row) this.changedKind(row.kind);
  }

  /** "My" changed (added or removed documents), or the ledger did: listeners of `kind` hear. */
  changedKind(kind?: CatalogueKind): void {
    if (this.#closed) return;
    for (const k of kind ? [kind] : this.#listeners.keys())
      if (this.#listeners.get(k)?.size) this.#pendingKinds.add(k);
    if (this.#pendingKinds.size === 0) return;
    this.#emit ??= setTimeout(() => {
      this.#emit = undefined;
      void this.#notify();
    }, 0);
  }

  /** Waits for the rows being written. */
  async flush(): Promise<void> {
    while (this.#batch || this.#writes.size > 0) {
      if (this.#batch) {
        clearTimeout(this.#batch);
        this.#batch = undefined;
        await this.#refresh();
      }
      await Promise.allSettled([...this.#writes]);
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    clearTimeout(this.#emit);
  }

  async #notify(): Promise<void> {
    const kinds = [...this.#pendingKinds];
    this.#pendingKinds.clear();
    for (const kind of kinds) {
      const listeners = [...(this.#listeners.get(kind) ?? [])];
      if (listeners.length === 0) continue;
      const rows = await this.rows(kind).catch(() => undefined);
      if (!rows || this.#closed) continue;
      for (const listener of listeners) listener(rows);
    }
  }

  async #refresh(): Promise<void> {
    await this.#load();
    const ids = [...this.#touched];
    this.#touched.clear();
    for (const id of ids) {
      const before = this.#cache.get(id);
      const handle = this.#ctx.handle(id);
      if (handle?.isReady()) {
        const heads = decodeHeads(handle.heads());
        if (before && sameHeads(before.heads, heads)) continue;
        const row = this.#keep(id, handle.doc(), heads);
        if (row) this.changedKind(row.kind);
      } else if (before) {
        // Stored without a handle (a bulk fetch): rebuilt from the device when listed.
        this.#cache.delete(id);
        this.#write(this.#ctx.device?.remove([ROWS, id]));
        this.changedKind(before.kind);
      }
    }
  }

  /** The kept row when it is known to be current (no await: a list of thousands stays fast). */
  #fresh(id: string): StoredRow | undefined {
    const cached = this.#cache.get(id);
    if (!cached) return undefined;
    const handle = this.#ctx.handle(id);
    if (!handle?.isReady()) return cached;
    return sameHeads(cached.heads, decodeHeads(handle.heads())) ? cached : undefined;
  }

  /** The row of a document as it is now, rebuilt when missing or out of date. */
  async #current(id: string): Promise<StoredRow | undefined> {
    const cached = this.#cache.get(id);
    const handle = this.#ctx.handle(id);
    if (handle?.isReady()) {
      const heads = decodeHeads(handle.heads());
      if (cached && sameHeads(cached.heads, heads)) return cached;
      return this.#keep(id, handle.doc(), heads);
    }
    if (cached) return cached;
    const bytes = await this.#ctx.stored(id).catch(() => undefined);
    if (bytes) {
      // Loaded for the row only, and freed at once: its memory in Automerge's WebAssembly heap
      // would otherwise wait for the garbage collector, and a rebuild of thousands grows it.
      const doc = A.loadIncremental(A.init(), bytes);
      this.#rebuilt++;
      try {
        return this.#keep(id, doc, A.getHeads(doc));
      } finally {
        A.free(doc);
      }
    }
    const opened = await this.#ctx.open(id).catch(() => undefined);
    if (!opened?.isReady()) return undefined;
    return this.#keep(id, opened.doc(), decodeHeads(opened.heads()));
  }

  /** Derives and keeps the row of `doc` (in memory and on the device). */
  #keep(id: string, doc: unknown, heads: string[]): StoredRow | undefined {
    const meta = documentMeta(doc);
    const derived = meta ? deriveRow(meta, doc) : undefined;
    if (!derived) return undefined;
    const row: StoredRow = {
      v: ROW_VERSION,
      ...derived,
      heads,
      requests:
        derived.kind === "order" ? Object.keys((doc as Partial<Order>).submissions ?? {}) : [],
    };
    this.#cache.set(id, row);
    this.#write(this.#ctx.device?.save([ROWS, id], encodeRow(row)));
    return row;
  }

  #write(write: Promise<unknown> | undefined): void {
    if (!write || this.#closed) return;
    const tracked = write.catch(() => undefined);
    this.#writes.add(tracked);
    void tracked.finally(() => this.#writes.delete(tracked));
  }

  #load(): Promise<void> {
    this.#loaded ??= (async () => {
      const device = this.#ctx.device;
      if (!device) return;
      const decoder = new TextDecoder();
      // Kept rows are a cache: when they cannot be read (the device closing, a storage error),
      // each row is derived from its document instead.
      const stored = await device.loadRange([ROWS]).catch(() => []);
      for (const chunk of stored) {
        const id = chunk.key[1];
        if (!id || !chunk.data || this.#cache.has(id)) continue;
        try {
          const row = JSON.parse(decoder.decode(chunk.data)) as StoredRow;
          if (row.v === ROW_VERSION) this.#cache.set(id, row);
        } catch {
          // An unreadable row is rebuilt from its document.
        }
      }
    })();
    return this.#loaded;
  }
}

function encodeRow(row: StoredRow): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(row));
}

/**
 * The device record of a document's row, as `received` writes it: for benches and tests that
 * seed a device as a bulk first sync with rows leaves it.
 */
export function rowRecord(
  id: string,
  heads: readonly string[],
  row: DerivedRow,
): { key: string[]; data: Uint8Array } {
  return {
    key: [ROWS, id],
    data: encodeRow({ v: ROW_VERSION, ...row, heads: [...heads], requests: [] }),
  };
}

const rowKinds: readonly string[] = ["quote", "order", "assistance"];
const isText = (v: unknown) => typeof v === "string";
const isCount = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isTime = (v: unknown) => typeof v === "number" && Number.isFinite(v);

/** A row as the relay sends it: checked field by field, since the device keeps and shows it. */
function isDerivedRow(row: unknown): row is DerivedRow {
  if (typeof row !== "object" || row === null) return false;
  const r = row as Record<string, unknown>;
  return (
    rowKinds.includes(r.kind as string) &&
    isText(r.organization) &&
    isText(r.owner) &&
    isText(r.customer) &&
    isText(r.project) &&
    (r.currency === null || isText(r.currency)) &&
    (r.totalMinor === null || Number.isSafeInteger(r.totalMinor)) &&
    isCount(r.lineCount) &&
    isTime(r.createdAt) &&
    isTime(r.updatedAt) &&
    isCount(r.requestCount)
  );
}

function sameHeads(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((h) => b.includes(h));
}

/** The ledger's outcomes grouped by order: one pass over the ledger per listing. */
function outcomesByOrder(
  ledger: Ledger | undefined,
): Map<string, Record<RequestId, SubmissionOutcome>> {
  const byOrder = new Map<string, Record<RequestId, SubmissionOutcome>>();
  for (const [requestId, outcome] of Object.entries(ledger?.submissions ?? {})) {
    let mine = byOrder.get(outcome.orderId);
    if (!mine) {
      mine = {};
      byOrder.set(outcome.orderId, mine);
    }
    mine[requestId as RequestId] = outcome;
  }
  return byOrder;
}

function entryOf(
  id: string,
  row: StoredRow,
  outcomes: Map<string, Record<RequestId, SubmissionOutcome>> | undefined,
): MyRow {
  const entry: MyRow = {
    id,
    kind: row.kind,
    organization: row.organization,
    owner: row.owner,
    customer: row.customer,
    project: row.project,
    currency: row.currency,
    total: row.totalMinor,
    lines: row.lineCount,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    state: null,
    orderNumber: null,
    revision: null,
  };
  if (row.kind !== "order" || !outcomes) return entry;
  const mine = outcomes.get(id);
  // Never submitted, as most orders in a list: a draft, without the rule's work per row.
  if (!mine && row.requestCount === 0 && row.requests.length === 0) {
    entry.state = "draft";
    return entry;
  }
  // The same rule as `orders.state(id)`, from the row's request ids and this order's outcomes.
  const requests = [...row.requests];
  // A row from the relay counts requests without naming them (`requestCount`): those answered
  // are this order's outcomes, the rest pending, the relay's own rule (submissionColumns).
  if (row.requestCount > requests.length) {
    const unnamed = row.requestCount - requests.length;
    const answered = Object.keys(mine ?? {}).filter((r) => !requests.includes(r));
    requests.push(...answered.slice(0, unnamed));
    for (let i = answered.length; i < unnamed; i++) requests.push(`unanswered ${i}`);
  }
  const state = submissionState(
    id as DocId,
    { submissions: Object.fromEntries(requests.map((r) => [r, true])) } as unknown as Order,
    { submissions: mine ?? {} } as Ledger,
  );
  const accepted = standingAcceptance(state);
  entry.state = state.status;
  entry.orderNumber = accepted?.orderNumber ?? null;
  entry.revision = accepted?.revision ?? null;
  return entry;
}
