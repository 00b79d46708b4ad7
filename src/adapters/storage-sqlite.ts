import type { Chunk, StorageAdapterInterface, StorageKey } from "@automerge/automerge-repo/slim";
import type Database from "better-sqlite3";

// Keys are joined with a separator no key part contains (document ids are base58, storage ids
// UUIDs, hashes hex), so a key prefix is a string prefix followed by the separator.
const SEP = "\u001f";
const AFTER_SEP = "\u0020";

function encodeKey(key: StorageKey): string {
  for (const part of key) {
    if (part.includes(SEP))
      throw new Error(`storage key part ${JSON.stringify(part)} contains a control character`);
  }
  return key.join(SEP);
}

/**
 * An automerge-repo storage adapter on an embedded SQLite database (better-sqlite3). Every call
 * is one transaction: a crash at any moment leaves the last committed state, never a torn chunk.
 * Nothing is cached in memory beyond SQLite's own page cache.
 */
export class SqliteStorageAdapter implements StorageAdapterInterface {
  readonly #load: Database.Statement<[string], { data: Buffer }>;
  readonly #save: Database.Statement<[string, Buffer]>;
  readonly #remove: Database.Statement<[string]>;
  readonly #loadRange: Database.Statement<[string, string, string], { key: string; data: Buffer }>;
  readonly #keyRange: Database.Statement<[string, string, string], { key: string }>;
  readonly #removeRange: Database.Statement<[string, string, string]>;
  readonly #all: Database.Statement<[], { key: string; data: Buffer }>;
  readonly #removeAll: Database.Statement<[]>;
  readonly #db: Database.Database;
  /** Observes each operation's duration in seconds (for metrics). */
  onTiming?: (operation: string, seconds: number) => void;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#load = db.prepare("SELECT data FROM chunks WHERE key = ?");
    this.#save = db.prepare(
      "INSERT INTO chunks (key, data) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET data = excluded.data",
    );
    this.#remove = db.prepare("DELETE FROM chunks WHERE key = ?");
    this.#loadRange = db.prepare(
      "SELECT key, data FROM chunks WHERE key = ? OR (key >= ? AND key < ?) ORDER BY id",
    );
    this.#keyRange = db.prepare(
      "SELECT key FROM chunks WHERE key = ? OR (key >= ? AND key < ?) ORDER BY id",
    );
    this.#removeRange = db.prepare("DELETE FROM chunks WHERE key = ? OR (key >= ? AND key < ?)");
    this.#all = db.prepare("SELECT key, data FROM chunks ORDER BY id");
    this.#removeAll = db.prepare("DELETE FROM chunks");
  }

  #timed<T>(operation: string, fn: () => T): T {
    const start = performance.now();
    try {
      return fn();
    } finally {
      this.onTiming?.(operation, (performance.now() - start) / 1000);
    }
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.#timed("load", () => {
      const row = this.#load.get(encodeKey(key));
      return row ? new Uint8Array(row.data) : undefined;
    });
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    // The Repo's debounced saves (sync states) can fire after the relay closed the database;
    // everything was flushed at close, so they carry nothing new.
    if (!this.#db.open) return;
    this.#timed("save", () => this.#save.run(encodeKey(key), Buffer.from(data)));
  }

  async remove(key: StorageKey): Promise<void> {
    this.#timed("remove", () => this.#remove.run(encodeKey(key)));
  }

  #range(prefix: StorageKey): [string, string, string] {
    const p = encodeKey(prefix);
    return [p, p + SEP, p + AFTER_SEP];
  }

  async loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    return this.loadRangeNow(keyPrefix);
  }

  /** `loadRange` without a promise: read together with other synchronous reads, consistently. */
  loadRangeNow(keyPrefix: StorageKey): Chunk[] {
    return this.#timed("loadRange", () => {
      const rows =
        keyPrefix.length === 0 ? this.#all.all() : this.#loadRange.all(...this.#range(keyPrefix));
      return rows.map((row) => ({ key: row.key.split(SEP), data: new Uint8Array(row.data) }));
    });
  }

  /** The content chunks of each document (`ChunkStore.loadDocuments`): one read per id. */
  async loadDocuments(documentIds: readonly string[]): Promise<Map<string, Chunk[]>> {
    const out = new Map<string, Chunk[]>();
    for (const id of documentIds) {
      const chunks = this.loadRangeNow([id]).filter(
        (c) => c.key[1] === "snapshot" || c.key[1] === "incremental",
      );
      if (chunks.length > 0) out.set(id, chunks);
    }
    return out;
  }

  /** The keys of each document's content chunks, without their bytes (`ChunkStore.contentKeys`). */
  async contentKeys(documentIds: readonly string[]): Promise<Map<string, StorageKey[]>> {
    return this.#timed("contentKeys", () => {
      const out = new Map<string, StorageKey[]>();
      for (const id of documentIds) {
        const keys = this.#keyRange
          .all(...this.#range([id]))
          .map((row) => row.key.split(SEP))
          .filter((key) => key[1] === "snapshot" || key[1] === "incremental");
        if (keys.length > 0) out.set(id, keys);
      }
      return out;
    });
  }

  async removeRange(keyPrefix: StorageKey): Promise<void> {
    this.#timed("removeRange", () => {
      if (keyPrefix.length === 0) this.#removeAll.run();
      else this.#removeRange.run(...this.#range(keyPrefix));
    });
  }
}
