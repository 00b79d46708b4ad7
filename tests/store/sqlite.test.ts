import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../../src/relay/store/sqlite/sqlite-store.js";
import { runStoreConformance } from "./conformance.js";

// Two stores on one file stand for two processes: SQLite serializes their transactions.
runStoreConformance("SQLite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "oms-store-"));
  return {
    open: async () => SqliteStore.open(join(dir, "relay.db")),
    teardown: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
