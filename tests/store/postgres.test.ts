import { randomBytes } from "node:crypto";
import * as A from "@automerge/automerge";
import { afterAll, describe, expect, it } from "vitest";
import { rebuildCatalogue } from "../../src/relay/catalogue/rebuild.js";
import { pgMigrations } from "../../src/relay/store/postgres/migrations.js";
import { PostgresStore } from "../../src/relay/store/postgres/postgres-store.js";
import { runStoreConformance } from "./conformance.js";
import { createTestDatabase, postgresAvailable } from "./postgres-test-database.js";

const available = await postgresAvailable();
// One fresh database for this file, dropped after; each fixture is a schema of its own in it
// (cheaper than a database per test).
const database = available ? await createTestDatabase() : undefined;
afterAll(() => database?.drop());

describe.skipIf(!available)("PostgreSQL", () => {
  runStoreConformance("PostgreSQL", async () => {
    const schema = `s_${randomBytes(5).toString("hex")}`;
    const url = database?.url as string;
    return {
      open: () => PostgresStore.open(url, { poolSize: 4, schema }),
      teardown: async () => {
        const admin = await PostgresStore.open(url, { poolSize: 1, schema });
        await admin.db.query(`DROP SCHEMA ${schema} CASCADE`);
        await admin.close();
      },
    };
  });

  it("migrates once when several nodes start at once, and records each version", async () => {
    const url = database?.url as string;
    const schema = `m_${randomBytes(5).toString("hex")}`;
    const stores = await Promise.all(
      Array.from({ length: 3 }, () => PostgresStore.open(url, { poolSize: 2, schema })),
    );
    const { rows } = await (stores[0] as PostgresStore).db.query<{ version: number }>(
      "SELECT version FROM schema_migrations ORDER BY version",
    );
    expect(rows.map((r) => r.version)).toEqual(pgMigrations.map((_, i) => i + 1));
    await Promise.all(stores.map((s) => s.close()));
  });
});

describe.skipIf(!available)("oms-relay catalogue rebuild on PostgreSQL", () => {
  it("derives every row again from the documents stored in the database", async () => {
    const url = database?.url as string;
    const store = await PostgresStore.open(url, { poolSize: 2 });
    const meta = { kind: "assistance", organization: "cli", owner: "ann" } as never;
    await store.registry.register("cli1", meta, 1);
    await store.chunks.save(
      ["cli1", "snapshot", "k"],
      A.save(A.from({ subject: "Rebuilt from storage", createdAt: 3 })),
    );
    await store.close();
    expect(await rebuildCatalogue("/nonexistent", url)).toEqual({ rows: 1, skipped: [] });
    const after = await PostgresStore.open(url, { poolSize: 1 });
    const rows = await after.catalogue.search({
      kind: "assistance",
      q: "rebuilt",
      sort: "updated",
      order: "asc",
      limit: 10,
    });
    expect(rows.map((r) => r.documentId)).toEqual(["cli1"]);
    await after.close();
    await expect(rebuildCatalogue("/nonexistent", "mysql://x")).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
  });
});

describe("a PostgreSQL store that cannot be reached", () => {
  it("fails to open with a message naming the server, without its password", async () => {
    // Port 1 on this machine answers nothing.
    const url = "postgres://oms:hunter2@127.0.0.1:1/oms";
    const error = await PostgresStore.open(url, { connectTimeoutMs: 2_000 }).catch((e) => e);
    expect(error).toMatchObject({ code: "INTERNAL" });
    expect(error.message).toContain("postgres://oms:…@127.0.0.1:1/oms");
    expect(error.message).not.toContain("hunter2");
  });
});
