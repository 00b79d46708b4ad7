import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runStorageAdapterTests } from "@automerge/automerge-repo/helpers/tests/storage-adapter-tests.js";
import { describe, expect, it } from "vitest";
import { SqliteStorageAdapter } from "../../src/adapters/storage-sqlite.js";
import { openDatabase } from "../../src/relay/database.js";

function tempDb() {
  const dir = mkdtempSync(join(tmpdir(), "oms-sqlite-"));
  const db = openDatabase(join(dir, "relay.db"));
  return {
    db,
    dir,
    teardown: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// automerge-repo's own conformance suite, against a real database file.
runStorageAdapterTests(async () => {
  const { db, teardown } = tempDb();
  return { adapter: new SqliteStorageAdapter(db), teardown };
}, "SqliteStorageAdapter");

describe("SqliteStorageAdapter", () => {
  it("matches prefixes by whole key parts, not by string prefix", async () => {
    const { db, teardown } = tempDb();
    const adapter = new SqliteStorageAdapter(db);
    await adapter.save(["doc", "snapshot", "h1"], new Uint8Array([1]));
    await adapter.save(["doc2", "snapshot", "h1"], new Uint8Array([2]));
    await adapter.save(["doc"], new Uint8Array([3]));
    expect((await adapter.loadRange(["doc"])).map((c) => c.key)).toEqual([
      ["doc", "snapshot", "h1"],
      ["doc"],
    ]);
    await adapter.removeRange(["doc"]);
    expect((await adapter.loadRange([])).map((c) => c.key)).toEqual([["doc2", "snapshot", "h1"]]);
    teardown();
  });

  it("keeps what was saved across reopening the file", async () => {
    const { db, dir } = tempDb();
    await new SqliteStorageAdapter(db).save(["a", "b"], new Uint8Array([9, 8]));
    db.close();
    const again = openDatabase(join(dir, "relay.db"));
    expect(await new SqliteStorageAdapter(again).load(["a", "b"])).toEqual(new Uint8Array([9, 8]));
    again.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
