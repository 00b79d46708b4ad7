import * as A from "@automerge/automerge";
import type { DocHandle, DocumentId, Repo } from "@automerge/automerge-repo/slim";
import type { DocumentMeta } from "../../docs/kinds.js";
import type {
  CatalogueRowInput,
  CatalogueStore,
  ChunkStore,
  RegistryStore,
} from "../store/types.js";
import { defaultCatalogueLimits } from "./catalogue-params.js";
import { deriveRow } from "./catalogue-row.js";

type Listed = "quote" | "order" | "assistance";
const listedKinds: readonly Listed[] = ["quote", "order", "assistance"];

function isListed(meta: DocumentMeta | undefined): boolean {
  return meta !== undefined && (listedKinds as readonly string[]).includes(meta.kind);
}

/** Sorted hex heads joined with commas (the row's `heads`). */
export function headsKey(hexHeads: readonly string[]): string {
  return [...hexHeads].sort().join(",");
}

/**
 * The ready documents among `documents` (every handle when undefined) whose heads differ from the
 * heads their row was last written at (`memo`), with those heads, taken before a flush.
 */
export function changedHandles(
  repo: Repo,
  documents: DocumentId[] | undefined,
  memo: ReadonlyMap<string, string>,
  listed: (documentId: string) => boolean,
): { id: DocumentId; heads: string }[] {
  const changed: { id: DocumentId; heads: string }[] = [];
  for (const id of documents ?? (Object.keys(repo.handles) as DocumentId[])) {
    const handle = repo.handles[id];
    if (!handle?.isReady() || !listed(id)) continue;
    // Hex heads straight from the document: `handle.heads()` encodes them (base58check).
    const heads = headsKey(A.getHeads(handle.doc() as A.Doc<unknown>));
    if (memo.get(id) !== heads) changed.push({ id, heads });
  }
  return changed;
}

/** The row of a document from its stored chunks; undefined when nothing is stored. */
export async function deriveStoredRow(
  chunks: ChunkStore,
  documentId: string,
  meta: DocumentMeta,
): Promise<CatalogueRowInput | undefined> {
  const stored = (await chunks.loadRange([documentId])).filter(
    (c) => c.key[1] === "snapshot" || c.key[1] === "incremental",
  );
  if (stored.length === 0) return undefined;
  const bytes = new Uint8Array(stored.reduce((n, c) => n + (c.data?.byteLength ?? 0), 0));
  let at = 0;
  for (const c of stored) {
    if (!c.data) continue;
    bytes.set(c.data, at);
    at += c.data.byteLength;
  }
  const doc = A.loadIncremental(A.init(), bytes);
  try {
    const row = deriveRow(meta, doc);
    return row ? { ...row, heads: headsKey(A.getHeads(doc)) } : undefined;
  } finally {
    A.free(doc);
  }
}

/**
 * The catalogue kept through the store interface (the relay on PostgreSQL; the SQLite relay keeps
 * its catalogue with `Catalogue`, synchronously, in the commits that store chunks). Every node
 * writes the rows of the documents it stores: rows are derived from the document's content and
 * written last-writer-wins, so two nodes storing one document converge on the row of the heads
 * stored last, and a row written from older heads is replaced by the next store. A chunk is saved
 * with its document marked pending in one transaction (`saveChunkMarkingPending`); a node starting
 * derives the rows of marked documents from storage (a node that died between storing and
 * writing the row).
 */
export class StoreCatalogue {
  readonly #store: CatalogueStore;
  readonly #chunks: ChunkStore;
  readonly #meta: (documentId: string) => Promise<DocumentMeta | undefined>;
  readonly #settleMs: number;
  readonly #memo = new Map<string, string>();
  readonly #stored = new Map<string, { heads: string; handle: DocHandle<unknown> }>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #settling: Promise<void> = Promise.resolve();
  #onError: (documentId: string, err: unknown) => void = () => {};

  constructor(o: {
    store: CatalogueStore;
    chunks: ChunkStore;
    meta: (documentId: string) => Promise<DocumentMeta | undefined>;
    settleMs?: number;
  }) {
    this.#store = o.store;
    this.#chunks = o.chunks;
    this.#meta = o.meta;
    this.#settleMs = o.settleMs ?? defaultCatalogueLimits.catalogueSettleMs;
  }

  /** Derives the rows of documents left marked pending (by any node), from storage. */
  async recoverPending(): Promise<void> {
    for (const documentId of await this.#store.pending()) {
      const meta = await this.#meta(documentId);
      const row = isListed(meta)
        ? await deriveStoredRow(this.#chunks, documentId, meta as DocumentMeta)
        : undefined;
      if (row) await this.#store.write([{ documentId, row }]);
      else await this.#store.clearPending(documentId);
    }
  }

  /**
   * Keeps the catalogue on every store: `storage` is the chunk store the Repo saves through (its
   * chunk saves of listed documents mark them pending in the same transaction), and `repo.flush`
   * (through which the relay stores documents) queues their rows.
   */
  keepOnFlush(
    repo: Repo,
    storage: { save(key: string[], data: Uint8Array): Promise<void> },
    onError: (documentId: string, err: unknown) => void,
  ): void {
    this.#onError = onError;
    const save = storage.save.bind(storage);
    storage.save = async (key, data) => {
      const [id, type] = key;
      if (!id || (type !== "incremental" && type !== "snapshot")) return save(key, data);
      if (!isListed(await this.#meta(id))) return save(key, data);
      return this.#store.saveChunkMarkingPending(id, key, data);
    };
    const flush = repo.flush.bind(repo);
    repo.flush = async (documents?: DocumentId[]) => {
      // Unlisted documents are skipped when their rows are derived (their kind needs a lookup).
      const changed = changedHandles(repo, documents, this.#memo, () => true);
      await flush(documents);
      for (const { id, heads } of changed) {
        const handle = repo.handles[id];
        if (handle) this.#stored.set(id, { heads, handle });
      }
      if (this.#stored.size > 0 && !this.#timer) {
        this.#timer = setTimeout(() => void this.settle(), this.#settleMs);
        this.#timer.unref?.();
      }
    };
  }

  /** Writes the rows of the documents stored since the last call, in one transaction. */
  settle(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    // One settle at a time: rows are written in the order their documents were stored.
    this.#settling = this.#settling.then(() => this.#settleNow()).catch(() => undefined);
    return this.#settling;
  }

  async #settleNow(): Promise<void> {
    const stored = [...this.#stored];
    this.#stored.clear();
    const rows: { documentId: string; row: CatalogueRowInput }[] = [];
    for (const [id, { heads, handle }] of stored) {
      const now = handle.isReady() ? A.getHeads(handle.doc() as A.Doc<unknown>) : undefined;
      // Changed since it was stored: the next store writes the row.
      if (!now || headsKey(now) !== heads) continue;
      try {
        const meta = await this.#meta(id);
        if (!isListed(meta)) continue;
        const row = deriveRow(meta as DocumentMeta, handle.doc());
        if (row) rows.push({ documentId: id, row: { ...row, heads } });
      } catch (err) {
        this.#onError(id, err);
      }
    }
    if (rows.length > 0) {
      try {
        await this.#store.write(rows);
        for (const { documentId, row } of rows) this.#memo.set(documentId, row.heads);
      } catch (err) {
        for (const { documentId } of rows) this.#onError(documentId, err);
      }
    }
    await this.#store.applyOutcomes();
  }

  /** Writes the rows still waiting. */
  async close(): Promise<void> {
    await this.settle();
  }
}

/**
 * Rebuilds every row from the stored documents (after an upgrade or a restore), on any engine:
 * one document in memory at a time, the rows replaced in one transaction.
 */
export async function rebuildStoreCatalogue(store: {
  registry: RegistryStore;
  chunks: ChunkStore;
  catalogue: CatalogueStore;
}): Promise<{ rows: number; skipped: string[] }> {
  const rows: { documentId: string; row: CatalogueRowInput }[] = [];
  const skipped: string[] = [];
  for (const { documentId, meta } of await store.registry.list(listedKinds)) {
    const row = await deriveStoredRow(store.chunks, documentId, meta);
    if (row) rows.push({ documentId, row });
    else skipped.push(documentId);
  }
  await store.catalogue.replaceAll(rows);
  return { rows: rows.length, skipped };
}
