import pg from "pg";

/**
 * One writer at a time for the documents the relay itself writes (ledgers, inboxes,
 * workspaces, organization documents). Two nodes writing one of them at once would not lose a
 * change (Automerge merges), but the relay's writes read before they write (is this outcome in
 * the ledger already?), and that read is only meaningful if no other node writes in between.
 */
export interface WriterLock {
  /** Runs `fn` holding the document's write lock, across every node sharing the store. */
  withDocument<T>(documentId: string, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Serializes writers within one process (one node: the SQLite store, or inside each node). */
export class LocalWriterLock implements WriterLock {
  readonly #tails = new Map<string, Promise<unknown>>();

  async withDocument<T>(documentId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(documentId) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(fn);
    const tail = run.catch(() => undefined);
    this.#tails.set(documentId, tail);
    try {
      return await run;
    } finally {
      if (this.#tails.get(documentId) === tail) this.#tails.delete(documentId);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#tails.values());
  }
}

/**
 * A PostgreSQL transaction-scoped advisory lock per document: held while the write runs, freed
 * by the commit, or by the server when the node's connection dies (so a killed node never
 * leaves a lock behind). Inside one node, writers queue on a local lock first so that a node
 * holds one connection per document at most.
 */
export class PostgresWriterLock implements WriterLock {
  readonly #pool: pg.Pool;
  readonly #local = new LocalWriterLock();

  constructor(connectionString: string, options: { maxConnections?: number } = {}) {
    this.#pool = new pg.Pool({
      connectionString,
      max: options.maxConnections ?? 4,
      connectionTimeoutMillis: 5_000,
    });
    // An idle connection that breaks (PostgreSQL restarted) must not crash the process.
    this.#pool.on("error", () => undefined);
  }

  withDocument<T>(documentId: string, fn: () => Promise<T>): Promise<T> {
    return this.#local.withDocument(documentId, async () => {
      const client = await this.#pool.connect();
      let broken = false;
      try {
        await client.query("BEGIN");
        // 'oms-writer' namespaces the key away from the store's own advisory locks.
        await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7157))", [
          `oms-writer:${documentId}`,
        ]);
        const result = await fn();
        await client.query("COMMIT");
        return result;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {
          broken = true;
        });
        throw err;
      } finally {
        client.release(broken);
      }
    });
  }

  async close(): Promise<void> {
    await this.#local.close();
    await this.#pool.end();
  }
}
