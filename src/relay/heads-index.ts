import { type DocumentId, decodeHeads, type Repo } from "@automerge/automerge-repo/slim";
import { headsHash } from "../docs/heads-digest.js";
import type { RelayDatabase } from "./database.js";

/**
 * The hash of each document's heads as last stored, kept in the database so that a reconnecting
 * device can learn which of its documents differ without the relay loading any of them.
 */
export class HeadsIndex {
  readonly #memo = new Map<string, string>();
  readonly #upsert;
  readonly #select;
  readonly #selectHeads;

  constructor(db: RelayDatabase) {
    this.#upsert = db.prepare(
      "INSERT INTO document_heads (doc_id, hash, heads) VALUES (?, ?, ?) ON CONFLICT(doc_id) DO UPDATE SET hash = excluded.hash, heads = excluded.heads",
    );
    this.#select = db.prepare<[string], { hash: string }>(
      "SELECT hash FROM document_heads WHERE doc_id = ?",
    );
    this.#selectHeads = db.prepare<[string], { hash: string; heads: string }>(
      "SELECT hash, heads FROM document_heads WHERE doc_id = ?",
    );
  }

  async record(documentId: string, hexHeads: readonly string[]): Promise<string> {
    const hash = await headsHash(hexHeads);
    if (this.#memo.get(documentId) === hash) return hash;
    this.#upsert.run(documentId, hash, JSON.stringify(hexHeads));
    this.#memo.set(documentId, hash);
    return hash;
  }

  /** The stored heads (Automerge hex) and their hash, if recorded. */
  entry(documentId: string): { hash: string; heads: string[] } | undefined {
    const row = this.#selectHeads.get(documentId);
    return row ? { hash: row.hash, heads: JSON.parse(row.heads) as string[] } : undefined;
  }

  /** The stored hash of each id; "" for a document never recorded. */
  hashes(ids: Iterable<string>): Map<string, string> {
    const out = new Map<string, string>();
    for (const id of ids) out.set(id, this.#memo.get(id) ?? this.#select.get(id)?.hash ?? "");
    return out;
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
