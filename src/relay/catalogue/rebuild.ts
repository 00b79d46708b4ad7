import { join } from "node:path";
import { OmsError } from "../../docs/errors.js";
import { isPostgresUrl } from "../store/open.js";
import { SqliteStore } from "../store/sqlite/sqlite-store.js";
import { Catalogue } from "./catalogue.js";
import { rebuildStoreCatalogue } from "./store-catalogue.js";

/**
 * `oms-relay catalogue rebuild`: derives every catalogue row again from the stored documents,
 * in the SQLite file of `dataDir` (run it with the relay stopped), or in the PostgreSQL database
 * `database` (nodes may keep running: the rows are replaced in one transaction that writers wait
 * for, and a row a node writes afterwards is derived from storage like the rebuilt ones).
 */
export async function rebuildCatalogue(
  dataDir: string,
  database?: string,
): Promise<{ rows: number; skipped: string[] }> {
  if (database !== undefined) {
    if (!isPostgresUrl(database))
      throw new OmsError(
        "INVALID_INPUT",
        "--database (OMS_DATABASE_URL) takes a PostgreSQL URL, postgres://user@host:5432/db; leave it out for the embedded SQLite file in --data",
      );
    const { PostgresStore } = await import("../store/postgres/postgres-store.js");
    const store = await PostgresStore.open(database, { poolSize: 2 });
    try {
      return await rebuildStoreCatalogue(store);
    } finally {
      await store.close();
    }
  }
  const store = SqliteStore.open(join(dataDir, "relay.db"));
  try {
    return new Catalogue(store.db, (id) => store.metaNow(id), store.storage).rebuild();
  } finally {
    store.db.close();
  }
}
