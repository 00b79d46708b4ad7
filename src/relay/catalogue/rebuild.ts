import { join } from "node:path";
import { SqliteStore } from "../store/sqlite/sqlite-store.js";
import { Catalogue } from "./catalogue.js";

/**
 * `oms-relay catalogue rebuild`: derives every catalogue row again from the stored documents in
 * `dataDir` (after an upgrade or a restore). Run it with the relay stopped.
 */
export function rebuildCatalogue(dataDir: string): { rows: number; skipped: string[] } {
  const store = SqliteStore.open(join(dataDir, "relay.db"));
  try {
    return new Catalogue(store.db, (id) => store.metaNow(id), store.storage).rebuild();
  } finally {
    store.db.close();
  }
}
