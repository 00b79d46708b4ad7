import * as A from "@automerge/automerge";
import {
  type DocumentId,
  decodeHeads,
  type Repo,
  type StorageAdapterInterface,
  type StorageKey,
} from "@automerge/automerge-repo/slim";
import type { Logger } from "pino";
import { headsHash } from "../../docs/heads-digest.js";
import { incrementalName, snapshotName } from "./change-chunks.js";
import type { InlineChunk } from "./notices.js";

export interface DocumentFollowerOptions {
  repo: Repo;
  /** The shared store's chunk part (the same one the Repo saves into). */
  storage: StorageAdapterInterface;
  log: Logger;
  /**
   * The stored content chunk keys of each id, without their bytes (`ChunkStore.contentKeys`): a
   * re-check then reads chunks only of documents with a chunk this node has not applied, instead
   * of every loaded document's.
   */
  storedKeys?: (ids: string[]) => Promise<Map<string, StorageKey[]>>;
  /**
   * Told of the changes each catch-up applied, all of which are in the store: the Repo, seeing
   * them as edits, would store them again (see `NotifyingStorage.alreadyStored`).
   */
  alreadyStored?: (documentId: string, hashes: string[]) => void;
  /** Told of each catch-up that applied chunks (metrics). */
  onApplied?: (documentId: string, chunks: number, seconds: number) => void;
  /** Documents read at once during a re-check. Default 4. */
  concurrency?: number;
  /** Documents whose keys a re-check lists in one round trip. Default 500. */
  keysPerRead?: number;
}

const CHUNK_KINDS = ["snapshot", "incremental"] as const;

/**
 * Keeps the documents a node holds in step with chunks that other nodes commit to the shared
 * store. automerge-repo never notices chunks written by another process: this reads the chunks
 * of a document it has not applied yet and hands them to the document's handle
 * (`loadIncremental` into the handle's document), after which the Repo syncs its clients as
 * for any change. Applying a chunk twice is harmless (Automerge ignores changes it has), so a
 * duplicate or late notice costs a read, never a wrong state.
 *
 * Compaction stays safe across nodes: a Repo's storage deletes only chunks it loaded or wrote
 * itself, all of which are in the snapshot it has just written; chunks applied here are never
 * registered with it, so a node never deletes another node's chunk that its snapshot lacks.
 */
export class DocumentFollower {
  readonly #o: DocumentFollowerOptions;
  /** Per document: the keys of the stored chunks already applied (pruned to what is stored). */
  readonly #applied = new Map<string, Set<string>>();
  readonly #running = new Map<string, Promise<void>>();
  readonly #again = new Set<string>();
  #rechecking: Promise<number> | undefined;

  constructor(options: DocumentFollowerOptions) {
    this.#o = options;
  }

  /**
   * A notice says `documentId` is stored with heads hashing to `hash`: catch up if behind. The
   * chunks it carries, if any, are applied first (when their bytes match their names); the
   * store is read only if the document is still not at `hash` after them.
   */
  async notice(documentId: string, hash: string, chunks?: readonly InlineChunk[]): Promise<void> {
    const handle = this.#o.repo.handles[documentId as DocumentId];
    if (!handle?.isReady()) return;
    const at = () => headsHash(decodeHeads(handle.heads()));
    if ((await at()) === hash) return;
    if (chunks && chunks.length > 0 && !this.#running.has(documentId)) {
      this.#applyInline(documentId, chunks);
      if ((await at()) === hash) return;
    }
    await this.catchUp(documentId);
  }

  /**
   * Reads what the store holds of a loaded document that this node has not applied, and applies
   * it. Calls for one document run one at a time; a call during a run makes one more run.
   */
  catchUp(documentId: string): Promise<void> {
    const running = this.#running.get(documentId);
    if (running) {
      this.#again.add(documentId);
      return running;
    }
    const run = (async () => {
      try {
        do {
          this.#again.delete(documentId);
          await this.#catchUp(documentId);
        } while (this.#again.has(documentId));
      } finally {
        this.#running.delete(documentId);
      }
    })();
    this.#running.set(documentId, run);
    return run;
  }

  /**
   * Catches up every loaded document (after a bus reconnect, a slow consumer, and periodically):
   * what a lost notice would have said is found here. Resolves with the number of documents read.
   */
  recheck(): Promise<number> {
    this.#rechecking ??= this.#recheck().finally(() => {
      this.#rechecking = undefined;
    });
    return this.#rechecking;
  }

  /** The document was unloaded: its next load reads everything anyway. */
  forget(documentId: string): void {
    this.#applied.delete(documentId);
  }

  /**
   * Chunks the document as loaded already holds: ones this node stored, or ones its Repo loaded.
   * A re-check does not read them again.
   */
  holds(documentId: string, keys: readonly StorageKey[]): void {
    const content = keys.filter((k) => k[1] === "snapshot" || k[1] === "incremental");
    if (content.length === 0) return;
    const applied = this.#applied.get(documentId) ?? new Set<string>();
    for (const key of content) applied.add(key.join("/"));
    this.#applied.set(documentId, applied);
  }

  /**
   * The loaded documents with a stored chunk not applied here: with `storedKeys`, found by
   * listing keys (a few round trips without chunk bytes); else every loaded document.
   */
  async #behind(): Promise<string[]> {
    const { repo, storedKeys } = this.#o;
    const ids = Object.entries(repo.handles)
      .filter(([, h]) => h.isReady())
      .map(([id]) => id);
    if (!storedKeys) return ids;
    const behind: string[] = [];
    const perRead = this.#o.keysPerRead ?? 500;
    for (let i = 0; i < ids.length; i += perRead) {
      const page = ids.slice(i, i + perRead);
      const stored = await storedKeys(page);
      for (const id of page) {
        const keys = (stored.get(id) ?? []).map((k) => k.join("/"));
        const applied = this.#applied.get(id);
        if (keys.some((k) => !applied?.has(k))) behind.push(id);
        // Keep only keys still stored: compaction replaces them, and the set must not grow. A
        // chunk this node stores meanwhile may be dropped here: it costs one more read, no more.
        else if (applied) this.#applied.set(id, new Set(keys));
      }
    }
    return behind;
  }

  async #recheck(): Promise<number> {
    const ids = await this.#behind();
    const queue = [...ids];
    const workers = Array.from(
      { length: Math.min(this.#o.concurrency ?? 4, queue.length) },
      async () => {
        for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
          try {
            await this.catchUp(id);
          } catch (err) {
            this.#o.log.warn(
              { err, documentId: id },
              "re-check: could not read a document; next time",
            );
          }
        }
      },
    );
    await Promise.all(workers);
    return ids.length;
  }

  /** Applies the chunks of a notice whose bytes are what their names say; drops the others. */
  #applyInline(documentId: string, chunks: readonly InlineChunk[]): void {
    const start = performance.now();
    const valid: { name: string; data: Uint8Array; heads?: string[] }[] = [];
    for (const chunk of chunks) {
      const data = Buffer.from(chunk.data, "base64");
      if (chunk.kind === "incremental") {
        if (incrementalName(data) === chunk.name) valid.push({ name: chunk.name, data });
        continue;
      }
      // A snapshot is named after its heads: load it alone to read them (and to reject garbage).
      try {
        const heads = A.getHeads(A.load(data));
        if (snapshotName(heads) === chunk.name) valid.push({ name: chunk.name, data, heads });
      } catch {
        // Not a document: the read from the store will do.
      }
    }
    if (valid.length === 0) return;
    this.#apply(
      documentId,
      valid.map((c) => c.data),
      start,
    );
    const applied = this.#applied.get(documentId) ?? new Set<string>();
    for (const c of valid)
      applied.add([documentId, c.heads ? "snapshot" : "incremental", c.name].join("/"));
    this.#applied.set(documentId, applied);
  }

  /** Loads `chunks` into the document's handle; tells which changes were new (all stored). */
  #apply(documentId: string, chunks: Uint8Array[], start: number): void {
    const handle = this.#o.repo.handles[documentId as DocumentId];
    if (!handle?.isReady()) return;
    let added: string[] = [];
    handle.update((doc) => {
      const before = A.getHeads(doc);
      let next = doc;
      for (const chunk of chunks) next = A.loadIncremental(next, chunk);
      added = A.getChangesMetaSince(next, before).map((c) => c.hash);
      return next;
    });
    if (added.length > 0) this.#o.alreadyStored?.(documentId, added);
    this.#o.onApplied?.(documentId, chunks.length, (performance.now() - start) / 1000);
  }

  async #catchUp(documentId: string): Promise<void> {
    const { repo, storage } = this.#o;
    const handle = repo.handles[documentId as DocumentId];
    if (!handle?.isReady()) return;
    const start = performance.now();
    const stored = (
      await Promise.all(CHUNK_KINDS.map((kind) => storage.loadRange([documentId, kind])))
    ).flat();
    const applied = this.#applied.get(documentId) ?? new Set<string>();
    const fresh = stored.filter((c) => c.data && !applied.has(c.key.join("/")));
    // Remember only keys still stored: compaction replaces them, and the set must not grow.
    this.#applied.set(documentId, new Set(stored.map((c) => c.key.join("/"))));
    if (fresh.length === 0) return;
    this.#apply(
      documentId,
      fresh.map((c) => c.data as Uint8Array),
      start,
    );
  }
}
