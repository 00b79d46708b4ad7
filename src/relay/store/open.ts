import { join } from "node:path";
import { OmsError } from "../../docs/errors.js";
import { redactUrl } from "./redact.js";
import { SqliteStore } from "./sqlite/sqlite-store.js";
import type { RelayStore, StoreTiming } from "./types.js";

/** Is this a PostgreSQL connection URL (`postgres://` or `postgresql://`)? */
export function isPostgresUrl(database: string | undefined): database is string {
  return database !== undefined && /^postgres(ql)?:\/\//i.test(database);
}

/**
 * Opens the relay's store: PostgreSQL when `database` is a PostgreSQL URL, else the embedded
 * SQLite file `<dataDir>/relay.db`. Migrations are applied before it answers.
 */
export async function openStore(options: {
  database?: string | undefined;
  dataDir: string;
  onTiming?: StoreTiming;
  /** Told of errors of idle PostgreSQL connections (logged; the pool replaces them). */
  onPoolError?: (err: Error) => void;
}): Promise<RelayStore> {
  const { database, dataDir, onTiming, onPoolError } = options;
  if (database === undefined || database === "") {
    return SqliteStore.open(join(dataDir, "relay.db"), onTiming);
  }
  if (isPostgresUrl(database)) {
    const { PostgresStore } = await import("./postgres/postgres-store.js");
    return PostgresStore.open(database, {
      ...(onTiming ? { onTiming } : {}),
      ...(onPoolError ? { onPoolError } : {}),
    });
  }
  throw new OmsError(
    "INVALID_INPUT",
    `database ${JSON.stringify(redactUrl(String(database)))} is not a PostgreSQL URL: use postgres://user@host:5432/db, or leave it out for the embedded SQLite file in the data folder`,
  );
}
