import type { Chunk, StorageAdapterInterface, StorageKey } from "@automerge/automerge-repo/slim";
import { changeHashes, snapshotName } from "./change-chunks.js";

/** A committed chunk of a document, as the notice to other nodes describes it. */
export interface StoredChunk {
  documentId: string;
  kind: "snapshot" | "incremental";
  /** The last part of its storage key. */
  name: string;
  data: Uint8Array;
}

export interface NotifyingStorageOptions {
  /** Told after each chunk the store committed (never for a save skipped as already stored). */
  onStored: (chunk: StoredChunk) => void;
  /** The loaded document's current heads (Automerge hex), if it is loaded. */
  headsOf?: (documentId: string) => readonly string[] | undefined;
  /** Told of the keys each range read answered (what the Repo loads a document from). */
  onLoaded?: (keys: StorageKey[]) => void;
}

/** Change hashes remembered per document as already in the store (the newest kept). */
const KNOWN_PER_DOCUMENT = 1_024;

/**
 * The Repo's storage adapter, telling after each committed chunk (snapshot or incremental) which
 * document it belongs to. The notice to other nodes goes out only after the store has the data:
 * a node that reads on a notice always finds what the notice announced.
 *
 * It also keeps a node from storing again what another node stored. Changes applied from the
 * store (`alreadyStored`) reach the Repo as edits, and the Repo saves them again; a save made
 * only of such changes is skipped:
 * - an incremental chunk is skipped when every change in it (hashed from its very bytes) is
 *   known stored;
 * - a snapshot is skipped when it is of the document's current heads, they are known stored (the
 *   store holds their history: every chunk is saved on top of what was stored), and this node
 *   wrote no incremental chunk of the document since its last snapshot (its own chunks are
 *   folded by its own compactions: no other node knows to remove them). A skipped
 *   snapshot wrote nothing, so the removals of its compaction are dropped too, until a snapshot
 *   of the current heads, begun after the skip, is committed: that one holds everything the
 *   dropped removals named. Chunks whose removal was dropped stay until a node that loads the
 *   document compacts it (a few rows, never a change lost).
 */
export class NotifyingStorage implements StorageAdapterInterface {
  readonly #inner: StorageAdapterInterface;
  readonly #o: NotifyingStorageOptions;
  /** Per document: change hash → whether another node stored it (else this one did). */
  readonly #known = new Map<string, Map<string, boolean>>();
  /** Keys of incremental chunks skipped: their removal is a no-op. */
  readonly #skipped = new Map<string, Set<string>>();
  /** Per document, incremental chunks this node wrote since it last wrote a snapshot. */
  readonly #ownIncrementals = new Map<string, number>();
  /** Per document, the order number of the last skipped snapshot. */
  readonly #snapshotSkippedAt = new Map<string, number>();
  #order = 0;

  constructor(inner: StorageAdapterInterface, options: NotifyingStorageOptions) {
    this.#inner = inner;
    this.#o = options;
  }

  /**
   * Changes of `documentId` known to be in the store: applied from it (`byOtherNode`), or
   * stored through this adapter.
   */
  alreadyStored(documentId: string, hashes: Iterable<string>, byOtherNode = true): void {
    const known = this.#known.get(documentId) ?? new Map<string, boolean>();
    this.#known.set(documentId, known);
    for (const hash of hashes) {
      known.delete(hash);
      known.set(hash, byOtherNode);
    }
    for (const [oldest] of known) {
      if (known.size <= KNOWN_PER_DOCUMENT) break;
      known.delete(oldest);
    }
  }

  /**
   * True when every head of the document (Automerge hex) is a change another node stored: this
   * node has nothing of its own to store or to record for it.
   */
  storedElsewhere(documentId: string, heads: readonly string[]): boolean {
    const known = this.#known.get(documentId);
    return !!known && heads.length > 0 && heads.every((h) => known.get(h) === true);
  }

  /** The document was unloaded: what was remembered of it goes. */
  forget(documentId: string): void {
    this.#known.delete(documentId);
    this.#skipped.delete(documentId);
    this.#ownIncrementals.delete(documentId);
  }

  #skip(documentId: string, name: string): void {
    const skipped = this.#skipped.get(documentId) ?? new Set<string>();
    this.#skipped.set(documentId, skipped);
    skipped.add(name);
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    const [documentId, kind, name] = key;
    if (key.length !== 3 || (kind !== "snapshot" && kind !== "incremental") || !documentId || !name)
      return this.#inner.save(key, data);
    const known = this.#known.get(documentId);
    if (kind === "incremental") {
      const hashes = changeHashes(data);
      if (known && hashes?.every((h) => known.has(h))) {
        return this.#skip(documentId, name);
      }
      await this.#inner.save(key, data);
      this.#ownIncrementals.set(documentId, (this.#ownIncrementals.get(documentId) ?? 0) + 1);
      if (hashes) this.alreadyStored(documentId, hashes, false);
    } else {
      const heads = this.#o.headsOf?.(documentId);
      const current = heads !== undefined && heads.length > 0 && snapshotName(heads) === name;
      const order = ++this.#order;
      const own = this.#ownIncrementals.get(documentId) ?? 0;
      if (current && own === 0 && known && heads.every((h) => known.has(h))) {
        this.#snapshotSkippedAt.set(documentId, order);
        return this.#skip(documentId, name);
      }
      // This compaction removes the incrementals written so far (those after it stay counted).
      this.#ownIncrementals.set(documentId, (this.#ownIncrementals.get(documentId) ?? 0) - own);
      await this.#inner.save(key, data);
      if (current) {
        if (order > (this.#snapshotSkippedAt.get(documentId) ?? 0))
          this.#snapshotSkippedAt.delete(documentId);
        this.alreadyStored(documentId, heads, false);
      }
    }
    this.#o.onStored({ documentId, kind, name, data });
  }

  load(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.#inner.load(key);
  }

  async remove(key: StorageKey): Promise<void> {
    const [documentId, kind, name] = key;
    if (documentId && name && (kind === "snapshot" || kind === "incremental")) {
      if (this.#skipped.get(documentId)?.delete(name)) return;
      // A compaction whose snapshot was skipped must not remove what only it would have held.
      if (this.#snapshotSkippedAt.has(documentId)) return;
    }
    return this.#inner.remove(key);
  }

  async loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    const chunks = await this.#inner.loadRange(keyPrefix);
    this.#o.onLoaded?.(chunks.map((c) => c.key));
    return chunks;
  }

  removeRange(keyPrefix: StorageKey): Promise<void> {
    return this.#inner.removeRange(keyPrefix);
  }
}
