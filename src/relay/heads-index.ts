import { type DocumentId, decodeHeads, type Repo } from "@automerge/automerge-repo/slim";
import { headsHash } from "../docs/heads-digest.js";
import type { HeadsStore } from "./store/types.js";

/**
 * The hash of each document's heads as last stored, kept in the database so that a reconnecting
 * device can learn which of its documents differ without the relay loading any of them.
 */
export class HeadsIndex {
  /** What this process recorded last, per document: an unchanged store costs no write. */
  readonly #memo = new Map<string, string>();
  readonly #store: HeadsStore;

  constructor(store: HeadsStore) {
    this.#store = store;
  }

  async record(documentId: string, hexHeads: readonly string[]): Promise<string> {
    const hash = await headsHash(hexHeads);
    if (this.#memo.get(documentId) === hash) return hash;
    await this.#store.record(documentId, { hash, heads: [...hexHeads] });
    this.#memo.set(documentId, hash);
    return hash;
  }

  /** The stored heads (Automerge hex) and their hash, if recorded. */
  async entry(documentId: string): Promise<{ hash: string; heads: string[] } | undefined> {
    const entry = await this.#store.entry(documentId);
    return entry ? { hash: entry.hash, heads: [...entry.heads] } : undefined;
  }

  /** The stored entry of each id recorded (one round trip); ids never recorded are left out. */
  entries(ids: readonly string[]): Promise<Map<string, { hash: string; heads: string[] }>> {
    return this.#store
      .entries(ids)
      .then((m) => new Map([...m].map(([id, e]) => [id, { hash: e.hash, heads: [...e.heads] }])));
  }

  /**
   * The stored hash of each id; "" for a document never recorded. Read from the store, which
   * other nodes write too (a hash remembered here may be stale there).
   */
  hashes(ids: Iterable<string>): Promise<Map<string, string>> {
    return this.#store.hashes([...ids]);
  }

  /**
   * Records the heads of whatever the Repo stores through `flush`: every place the relay stores
   * a document (before a sync message leaves, after writing a ledger) goes through it.
   */
  recordOnFlush(repo: Repo): void {
    const flush = repo.flush.bind(repo);
    repo.flush = async (documents?: DocumentId[]) => {
      await flush(documents);
      const ids = documents ?? (Object.keys(repo.handles) as DocumentId[]);
      for (const id of ids) {
        const handle = repo.handles[id];
        if (handle?.isReady()) await this.record(id, decodeHeads(handle.heads()));
      }
    };
  }
}
