import pg from "pg";

/** A pool of connections to the relay's PostgreSQL database, and transactions on it. */
export interface PgDatabase {
  readonly pool: pg.Pool;
  /** One statement on any pooled connection. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params?: unknown[],
  ): Promise<pg.QueryResult<R>>;
  /**
   * Runs `fn` in one transaction (READ COMMITTED) on one connection: committed when it
   * resolves, rolled back when it throws.
   */
  tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
}

/**
 * 64-bit integers (counts, times in ms, sequence values) as numbers: every value the relay
 * stores fits in 2^53. The parsers are this pool's own: other users of `pg` keep theirs.
 */
const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === pg.types.builtins.INT8 && format !== "binary") return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export interface PgOptions {
  /** Connections at most; default 10. */
  poolSize?: number;
  /** A schema to keep every table in (created if missing); default the user's search path. */
  schema?: string;
  /** Told of errors of idle pooled connections (a restarted server); they are not fatal. */
  onPoolError?: (err: Error) => void;
  /** How long to wait for a connection before an operation fails; default 5 s. */
  connectTimeoutMs?: number;
  /**
   * How long one query may go unanswered before it fails and its connection is dropped; default
   * 15 s. A connection the network silently lost (a failover, a firewall dropping it) answers
   * nothing and is not reset for many minutes: without this, every later query queued on it.
   */
  queryTimeoutMs?: number;
}

export function createPgDatabase(url: string, options: PgOptions = {}): PgDatabase {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    query_timeout: options.queryTimeoutMs ?? 15_000,
    types,
    ...(options.schema ? { options: `-c search_path=${quoteIdent(options.schema)}` } : {}),
  });
  // Without a listener, an idle connection that the server closes would crash the process.
  pool.on("error", (err) => options.onPoolError?.(err));
  return {
    pool,
    query: (sql, params) => pool.query(sql, params),
    async tx(fn) {
      const client = await pool.connect();
      let failed: Error | undefined;
      try {
        await client.query("BEGIN");
        const result = await fn(client);
        await client.query("COMMIT");
        return result;
      } catch (err) {
        failed = err instanceof Error ? err : new Error(String(err));
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      } finally {
        // A connection whose transaction failed is dropped, not reused: after a query timeout it
        // may still be waiting for an answer that never comes.
        client.release(failed);
      }
    },
  };
}

/** An identifier quoted for SQL (schema names come from options, never from clients). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
