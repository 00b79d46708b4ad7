import type { Chunk, StorageKey } from "@automerge/automerge-repo/slim";
import type { ChunkStore } from "../types.js";
import type { PgDatabase } from "./database.js";

/**
 * Chunks on PostgreSQL: one row per key, keyed by the key array, with the first part (the
 * document id) in its own indexed column so that a range read by prefix reads one document's
 * rows in the order they were first saved.
 */
export class PgChunkStore implements ChunkStore {
  readonly #db: PgDatabase;
  readonly #closed: () => boolean;

  constructor(db: PgDatabase, closed: () => boolean) {
    this.#db = db;
    this.#closed = closed;
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    const { rows } = await this.#db.query<{ data: Buffer }>(
      "SELECT data FROM chunks WHERE key = $1",
      [key],
    );
    return rows[0] ? new Uint8Array(rows[0].data) : undefined;
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    // The Repo's debounced saves can fire after the relay closed the store; everything was
    // flushed at close, so they carry nothing new.
    if (this.#closed()) return;
    await this.#db.query(
      `INSERT INTO chunks (key, doc_id, data) VALUES ($1, $2, $3)
       ON CONFLICT (key) DO UPDATE SET data = excluded.data`,
      [key, key[0] ?? "", Buffer.from(data.buffer, data.byteOffset, data.byteLength)],
    );
  }

  async remove(key: StorageKey): Promise<void> {
    await this.#db.query("DELETE FROM chunks WHERE key = $1", [key]);
  }

  async loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    const { rows } =
      keyPrefix.length === 0
        ? await this.#db.query<{ key: string[]; data: Buffer }>(
            "SELECT key, data FROM chunks ORDER BY seq",
          )
        : await this.#db.query<{ key: string[]; data: Buffer }>(
            `SELECT key, data FROM chunks
             WHERE doc_id = $1 AND key[1:$2::int] = $3::text[] ORDER BY seq`,
            [keyPrefix[0], keyPrefix.length, keyPrefix],
          );
    return rows.map((row) => ({ key: row.key, data: new Uint8Array(row.data) }));
  }

  async loadDocuments(documentIds: readonly string[]): Promise<Map<string, Chunk[]>> {
    const out = new Map<string, Chunk[]>();
    if (documentIds.length === 0) return out;
    // Served by chunks_by_document (doc_id, seq): one index scan per id, in saved order.
    const { rows } = await this.#db.query<{ doc_id: string; key: string[]; data: Buffer }>(
      `SELECT doc_id, key, data FROM chunks
       WHERE doc_id = ANY($1::text[]) AND key[2] IN ('snapshot', 'incremental')
       ORDER BY doc_id, seq`,
      [documentIds],
    );
    for (const row of rows) {
      const list = out.get(row.doc_id) ?? [];
      list.push({ key: row.key, data: new Uint8Array(row.data) });
      out.set(row.doc_id, list);
    }
    return out;
  }

  async contentKeys(documentIds: readonly string[]): Promise<Map<string, StorageKey[]>> {
    const out = new Map<string, StorageKey[]>();
    if (documentIds.length === 0) return out;
    const { rows } = await this.#db.query<{ doc_id: string; key: string[] }>(
      `SELECT doc_id, key FROM chunks
       WHERE doc_id = ANY($1::text[]) AND key[2] IN ('snapshot', 'incremental')
       ORDER BY doc_id, seq`,
      [documentIds],
    );
    for (const row of rows) {
      const list = out.get(row.doc_id) ?? [];
      list.push(row.key);
      out.set(row.doc_id, list);
    }
    return out;
  }

  async removeRange(keyPrefix: StorageKey): Promise<void> {
    if (keyPrefix.length === 0) await this.#db.query("DELETE FROM chunks");
    else
      await this.#db.query("DELETE FROM chunks WHERE doc_id = $1 AND key[1:$2::int] = $3::text[]", [
        keyPrefix[0],
        keyPrefix.length,
        keyPrefix,
      ]);
  }
}
