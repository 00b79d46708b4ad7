import * as A from "@automerge/automerge";
import type { DocHandle, DocumentId, Repo } from "@automerge/automerge-repo/slim";
import type { SqliteStorageAdapter } from "../../adapters/storage-sqlite.js";
import type { OrganizationId, UserId } from "../../docs/ids.js";
import type { DocumentKind, DocumentMeta } from "../../docs/kinds.js";
import type { RelayDatabase } from "../database.js";
import { SqliteCatalogueStore } from "../store/sqlite/catalogue-store.js";
import { defaultCatalogueLimits } from "./catalogue-params.js";
import { type DerivedRow, deriveRow } from "./catalogue-row.js";
import { changedHandles, headsKey } from "./store-catalogue.js";

/**
 * A document's pending mark is kept while it is being edited and removed once it has been quiet
 * this long with its row up to date: marking it on every store cost a write per edit.
 */
const markIdleMs = 10_000;

export type { SubmissionColumns } from "../store/sqlite/catalogue-store.js";
export { submissionColumns } from "../store/sqlite/catalogue-store.js";

/**
 * The relay's catalogue: one row per quote, order and assistance request, so that a connected
 * user can find every document they may read without the relay loading any of them. Rows are
 * derived from stored documents only, when their heads change, and can be rebuilt from storage.
 */
export class Catalogue {
  readonly #db: RelayDatabase;
  readonly #meta: (docId: string) => DocumentMeta | undefined;
  /** Heads last derived, per document: a flush that changed nothing costs one map lookup. */
  readonly #memo = new Map<string, string>();
  /** Stored since the last `settle`, with the heads that were stored. */
  readonly #stored = new Map<string, { heads: string; handle: DocHandle<unknown> }>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #onError: (documentId: string, err: unknown) => void = () => {};
  /**
   * Documents marked in `catalogue_pending`, with the time of their last stored chunk. A mark
   * stays while its document is edited (storage may be ahead of the row): see `#sweepMarks`.
   */
  readonly #pending = new Map<string, number>();
  /** Marked documents with a chunk stored after their row was last written. */
  readonly #aheadOfRow = new Set<string>();
  #lastSweep = 0;
  readonly #storage: SqliteStorageAdapter;
  /** The catalogue's SQL (src/relay/store/sqlite/catalogue-store.ts). */
  readonly #rows: SqliteCatalogueStore;

  /** How long stored documents wait for their rows (`limits.catalogueSettleMs`). */
  readonly #settleMs: number;

  constructor(
    db: RelayDatabase,
    meta: (docId: string) => DocumentMeta | undefined,
    storage: SqliteStorageAdapter,
    options: { settleMs?: number } = {},
  ) {
    this.#settleMs = options.settleMs ?? defaultCatalogueLimits.catalogueSettleMs;
    this.#db = db;
    this.#meta = meta;
    this.#storage = storage;
    this.#rows = new SqliteCatalogueStore(db, storage);
    this.#recoverPending();
  }

  /**
   * Rows of documents whose store was interrupted (a crash between storing a document and
   * writing its row) are derived again from what storage holds.
   */
  #recovering = false;

  #recoverPending(): void {
    this.#recovering = true;
    for (const docId of this.#rows.pendingNow()) {
      const meta = this.#meta(docId);
      if (!meta || !this.#deriveStored(docId, meta)) this.#rows.clearPendingNow(docId);
    }
    this.#recovering = false;
  }

  /** Derives a row from the document's stored chunks; false when nothing is stored. */
  #deriveStored(docId: string, meta: DocumentMeta): boolean {
    const chunks = this.#storage
      .loadRangeNow([docId])
      .filter((c) => c.key[1] === "snapshot" || c.key[1] === "incremental");
    if (chunks.length === 0) return false;
    const doc = A.loadIncremental(A.init(), concat(chunks.map((c) => c.data as Uint8Array)));
    try {
      const row = deriveRow(meta, doc);
      if (!row) return false;
      this.#write(docId, row, headsKey(A.getHeads(doc)));
      return true;
    } finally {
      A.free(doc);
    }
  }

  /**
   * Brings one document's row up to date with its stored content. `doc` is only called when the
   * heads differ from the row's; returns whether the row was written.
   */
  update(docId: string, hexHeads: readonly string[], doc: () => unknown): boolean {
    const heads = headsKey(hexHeads);
    if (this.#memo.get(docId) === heads) {
      this.#clean(docId);
      return false;
    }
    const meta = this.#meta(docId);
    if (!meta || (meta.kind !== "quote" && meta.kind !== "order" && meta.kind !== "assistance"))
      return false;
    // The memo holds the row's heads when set; only a document not seen since start is looked up.
    if (!this.#memo.has(docId) && this.#rows.rowHeadsNow(docId) === heads) {
      this.#clean(docId);
      this.#memo.set(docId, heads);
      return false;
    }
    const row = deriveRow(meta, doc());
    if (!row) return false;
    this.#write(docId, row, heads);
    this.#memo.set(docId, heads);
    return true;
  }

  #write(docId: string, row: DerivedRow, heads: string): void {
    this.#db.transaction(() => {
      this.#rows.upsertNow(docId, { ...row, heads });
      this.#clean(docId);
    })();
  }

  /**
   * Applies submission outcomes committed since the last call (including before a crash: the
   * position is kept in the database). Cheap when there are none: one indexed lookup.
   */
  applyOutcomes(): void {
    this.#rows.applyOutcomesNow();
  }

  /**
   * Keeps the catalogue on every store: wraps `repo.flush`, through which every place the relay
   * stores a document goes (see `HeadsIndex.recordOnFlush`). A document is marked pending in the
   * commit that stores its first chunk, and its row is written after the store, only if nothing
   * changed in between: a row never shows more than storage holds, and a crash in between is
   * repaired from storage on the next start. A row that cannot be derived is reported; it never
   * fails the store.
   */
  keepOnFlush(repo: Repo, onError: (documentId: string, err: unknown) => void): void {
    // The Repo also saves on its own (debounced, after changes): a document is marked pending
    // before any chunk of it is written, so that a crash before its row is written is repaired.
    const save = this.#storage.save.bind(this.#storage);
    this.#storage.save = (key, data) => {
      const [id, type] = key;
      if (!id || (type !== "incremental" && type !== "snapshot") || !this.#listed(id))
        return save(key, data);
      this.#aheadOfRow.add(id);
      if (this.#pending.has(id)) {
        // Still marked from an earlier store: no second mark needed.
        this.#pending.set(id, Date.now());
        return save(key, data);
      }
      // The adapter writes synchronously inside the call: mark and chunk share one commit.
      let saved: Promise<void> = Promise.resolve();
      this.#db.transaction(() => {
        this.#rows.markPendingNow(id);
        saved = save(key, data);
      })();
      this.#pending.set(id, Date.now());
      return saved;
    };
    const flush = repo.flush.bind(repo);
    repo.flush = async (documents?: DocumentId[]) => {
      const changed = changedHandles(repo, documents, this.#memo, (id) => this.#listed(id));
      await flush(documents);
      for (const { id, heads } of changed) {
        const handle = repo.handles[id];
        if (handle) this.#stored.set(id, { heads, handle });
      }
      // The Repo's own saves (a compaction, say) store nothing beyond the row's heads.
      for (const id of this.#aheadOfRow) {
        const handle = repo.handles[id as DocumentId];
        if (
          !this.#stored.has(id) &&
          handle?.isReady() &&
          this.#memo.get(id) === headsKey(A.getHeads(handle.doc() as A.Doc<unknown>))
        )
          this.#aheadOfRow.delete(id);
      }
      if (this.#stored.size > 0 && !this.#timer) {
        this.#timer = setTimeout(() => this.settle(), this.#settleMs);
        this.#timer.unref?.();
      }
    };
    this.#onError = onError;
  }

  /**
   * Writes the rows of the documents stored since the last call, in one transaction, and applies
   * new submission outcomes. Runs shortly after stores (many edits make one write) and before
   * every query, so that a query sees every completed store.
   */
  settle(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#db.open) return;
    const stored = [...this.#stored];
    this.#stored.clear();
    if (stored.length > 0)
      this.#db.transaction(() => {
        for (const [id, { heads, handle }] of stored) {
          const now = handle.isReady() ? A.getHeads(handle.doc() as A.Doc<unknown>) : undefined;
          // Changed since it was stored: the next store writes the row.
          if (!now || headsKey(now) !== heads) continue;
          try {
            this.update(id, now, () => handle.doc());
          } catch (err) {
            this.#onError(id, err);
          }
        }
        this.#sweepMarks(Date.now());
      })();
    this.applyOutcomes();
  }

  /** Writes the rows still waiting and unmarks every document whose row is up to date. */
  close(): void {
    this.settle();
    if (this.#db.open) this.#db.transaction(() => this.#sweepMarks(Date.now(), true))();
  }

  /** The row now holds everything stored of `docId`. */
  #clean(docId: string): void {
    this.#aheadOfRow.delete(docId);
    if (this.#recovering && !this.#pending.has(docId)) this.#rows.clearPendingNow(docId);
  }

  /**
   * Unmarks documents whose row holds everything stored and that were not stored for
   * `markIdleMs` (all such documents when `all`): a crash from now on has nothing to repair.
   */
  #sweepMarks(now: number, all = false): void {
    if (!all && now - this.#lastSweep < 1_000) return;
    this.#lastSweep = now;
    for (const [id, storedAt] of this.#pending) {
      if (this.#aheadOfRow.has(id) || (!all && now - storedAt < markIdleMs)) continue;
      this.#rows.clearPendingNow(id);
      this.#pending.delete(id);
    }
  }

  #listed(docId: string): boolean {
    const kind = this.#meta(docId)?.kind;
    return kind === "quote" || kind === "order" || kind === "assistance";
  }

  /**
   * Rebuilds every row from the stored documents (after an upgrade or a restore): rows are
   * derived again from each document's chunks, one document in memory at a time, and rows of
   * documents no longer registered are removed.
   */
  rebuild(): { rows: number; skipped: string[] } {
    const documents = this.#db
      .prepare<
        [],
        { doc_id: string; kind: DocumentKind; owner: string | null; organization: string }
      >(
        "SELECT doc_id, kind, owner, organization FROM documents WHERE kind IN ('quote', 'order', 'assistance')",
      )
      .all();
    const skipped: string[] = [];
    let rows = 0;
    // One transaction: a rebuild stopped halfway leaves the catalogue as it was.
    const begin = this.#db.prepare("BEGIN");
    begin.run();
    try {
      this.#rows.clearAllNow();
      this.#memo.clear();
      for (const d of documents) {
        const meta: DocumentMeta = {
          kind: d.kind,
          organization: d.organization as OrganizationId,
          ...(d.owner ? { owner: d.owner as UserId } : {}),
        };
        if (this.#deriveStored(d.doc_id, meta)) rows++;
        else skipped.push(d.doc_id);
      }
      this.#pending.clear();
      this.#aheadOfRow.clear();
      // Every order's state was just read from the outcomes: nothing before now is left to apply.
      const seen = this.#rows.rebuiltNow();
      this.#db.prepare("COMMIT").run();
      this.#rows.outcomesSeen = seen;
    } catch (err) {
      if (this.#db.inTransaction) this.#db.prepare("ROLLBACK").run();
      this.#memo.clear();
      throw err;
    }
    return { rows, skipped };
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
