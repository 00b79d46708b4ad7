import type { DocumentId, Repo } from "@automerge/automerge-repo/slim";
import type { Logger } from "pino";

export interface DocumentCacheOptions {
  repo: Repo;
  /** Documents kept loaded at most; beyond, the least recently used idle ones are unloaded. */
  capacity: number;
  /** A document used more recently than this stays loaded, whatever the count. */
  idleMs: number;
  log: Logger;
  /** Told of each unloaded document (the write gate forgets what it kept about it). */
  onEvict?: (documentId: string) => void;
}

/**
 * Bounds the relay's memory: automerge-repo keeps every document it ever loaded. This unloads the
 * least recently used ones beyond `capacity`, safely: a document is stored first, and only one
 * that is ready and idle is unloaded, and never through `Repo.removeFromCache` alone, which in
 * automerge-repo 2.5.6 overwrites the stored document with an empty one. An unloaded document is
 * loaded again from storage when next needed.
 */
export class DocumentCache {
  readonly #o: DocumentCacheOptions;
  /** Insertion order is recency order: a touch moves an id to the end. */
  readonly #used = new Map<string, number>();
  #sweeping: Promise<void> | undefined;
  #closed = false;
  evicted = 0;

  constructor(options: DocumentCacheOptions) {
    this.#o = options;
  }

  /**
   * Counts every `find` as a use, so that a document the relay itself just looked up (a session,
   * a ledger to write) is not unloaded under it.
   */
  watchFinds(): void {
    const { repo } = this.#o;
    const find = repo.find.bind(repo);
    repo.find = ((id: string, options?: unknown) => {
      this.touch(
        String(id)
          .replace(/^automerge:/, "")
          .split("#")[0] as string,
      );
      return find(id as never, options as never);
    }) as Repo["find"];
  }

  /** Document ids whose last use is remembered (at most the loaded ones, and ids being found). */
  get size(): number {
    return this.#used.size;
  }

  /**
   * Records a use of a loaded document. Ids of documents not loaded are not remembered: a client
   * can name any number of them, and a sweep gives a newly loaded document its grace anyway.
   */
  touch(documentId: string): void {
    if (!this.#o.repo.handles[documentId as DocumentId]) return;
    this.#used.delete(documentId);
    this.#used.set(documentId, Date.now());
  }

  /** Stops sweeping; resolves when a sweep in progress is over. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#sweeping;
  }

  /** Unloads idle documents until at most `capacity` are loaded. */
  sweep(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#sweeping ??= this.#sweep().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  async #sweep(): Promise<void> {
    const { repo, capacity, idleMs } = this.#o;
    const loaded = Object.keys(repo.handles);
    let excess = loaded.length - capacity;
    if (excess <= 0) return;
    const now = Date.now();
    // A document the relay loaded for itself (a ledger being written) gets a grace period too.
    for (const id of loaded) if (!this.#used.has(id)) this.#used.set(id, now);
    for (const id of [...this.#used.keys()]) {
      if (excess <= 0 || this.#closed) break;
      const usedAt = this.#used.get(id);
      if (usedAt !== undefined && now - usedAt < idleMs) break;
      if (await this.#evict(id)) excess--;
    }
  }

  async #evict(documentId: string): Promise<boolean> {
    const { repo } = this.#o;
    const handle = repo.handles[documentId as DocumentId];
    if (!handle) {
      this.#used.delete(documentId);
      return false;
    }
    if (!handle.isReady()) return false;
    const usedAt = this.#used.get(documentId);
    try {
      await repo.flush([documentId as DocumentId]);
      // Used while it was being stored (a message for it arrived): it stays.
      if (this.#used.get(documentId) !== usedAt) return false;
      // automerge-repo 2.5.6 unloads by resetting the handle to an empty document, which its
      // own save listener then writes over the stored one (that is how removeFromCache loses
      // data). Nothing may react to that reset: the listeners go first.
      handle.removeAllListeners("heads-changed");
      handle.removeAllListeners("change");
      await repo.removeFromCache(documentId as DocumentId);
    } catch (err) {
      this.#o.log.warn({ err, documentId }, "could not unload a document; it stays loaded");
      return false;
    }
    this.#used.delete(documentId);
    this.#o.onEvict?.(documentId);
    this.evicted++;
    return true;
  }
}
