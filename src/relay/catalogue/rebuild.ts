import { join } from "node:path";
import { SqliteStorageAdapter } from "../../adapters/storage-sqlite.js";
import { openDatabase } from "../database.js";
import { DocumentRegistry } from "../registry.js";
import { Catalogue } from "./catalogue.js";

/**
 * `oms-relay catalogue rebuild`: derives every catalogue row again from the stored documents in
 * `dataDir` (after an upgrade or a restore). Run it with the relay stopped.
 */
export function rebuildCatalogue(dataDir: string): { rows: number; skipped: string[] } {
  const db = openDatabase(join(dataDir, "relay.db"));
  try {
    const registry = new DocumentRegistry(db);
    return new Catalogue(db, (id) => registry.get(id), new SqliteStorageAdapter(db)).rebuild();
  } finally {
    db.close();
  }
}
