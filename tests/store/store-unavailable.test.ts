import { Repo, type StorageKey } from "@automerge/automerge-repo";
import pg from "pg";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryStorageAdapter } from "../../src/adapters/storage-memory.js";
import { IsolatedDocuments } from "../../src/relay/isolated-documents.js";
import { isStoreUnavailable } from "../../src/relay/store/index.js";
import { waitFor } from "../integration/helpers.js";
import { postgresAvailable, postgresTestUrl } from "./postgres-test-database.js";

// Errors taken from a real PostgreSQL server and a real pool, not written by hand: what `pg`
// throws when its pool is exhausted is what an overloaded node sees.
const available = await postgresAvailable();
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function caught(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a failure");
}

async function poolTimeout(): Promise<unknown> {
  const pool = new pg.Pool({
    connectionString: postgresTestUrl,
    max: 1,
    connectionTimeoutMillis: 10_000,
  });
  cleanups.push(() => pool.end());
  const held = await pool.connect();
  // Only the wait for the one busy connection must time out: a loaded machine can take longer
  // than 50 ms to open the first one. The pool reads this option on every checkout.
  pool.options.connectionTimeoutMillis = 50;
  const err = await caught(() => pool.query("SELECT 1"));
  held.release();
  return err;
}

/** Chunk storage whose saves fail with `failure` while `failing` is set, as a busy pool's would. */
class OverloadedStorage extends MemoryStorageAdapter {
  failing = false;
  failed = 0;
  constructor(readonly failure: unknown) {
    super();
  }
  override async save(key: StorageKey, data: Uint8Array): Promise<void> {
    if (this.failing) {
      this.failed++;
      throw this.failure;
    }
    return super.save(key, data);
  }
}

describe.skipIf(!available)("a store that is unavailable, not a document that is bad", () => {
  it("tells connection-level failures of a real server from errors about the data", async () => {
    expect(isStoreUnavailable(await poolTimeout())).toBe(true);
    const refused = await caught(async () => {
      const client = new pg.Client({ host: "127.0.0.1", port: 1, connectionTimeoutMillis: 2_000 });
      await client.connect();
    });
    expect(isStoreUnavailable(refused)).toBe(true);

    const client = new pg.Client({ connectionString: postgresTestUrl });
    await client.connect();
    cleanups.push(() => client.end());
    const syntax = await caught(() => client.query("SELEC 1"));
    expect(isStoreUnavailable(syntax)).toBe(false);
    await client.query("CREATE TEMP TABLE t (id int PRIMARY KEY)");
    await client.query("INSERT INTO t VALUES (1)");
    const duplicate = await caught(() => client.query("INSERT INTO t VALUES (1)"));
    expect(isStoreUnavailable(duplicate)).toBe(false);
    // Wrapped by whoever rethrows it, it is still the store's.
    expect(isStoreUnavailable(new Error("save failed", { cause: await poolTimeout() }))).toBe(true);
    expect(isStoreUnavailable(new Error("bad document"))).toBe(false);
  });

  it("does not isolate a document whose save met an exhausted pool; its next save stores it", async () => {
    const storage = new OverloadedStorage(await poolTimeout());
    const repo = new Repo({ network: [], storage });
    cleanups.push(() => repo.shutdown());
    const logs: { msg?: string }[] = [];
    // The store answers by the time it is asked, as it does once an overloaded node catches up:
    // without looking at the error itself, the document would be blamed.
    const isolated = new IsolatedDocuments({
      log: pino({ level: "info" }, { write: (line: string) => logs.push(JSON.parse(line)) }),
      storeAnswers: async () => true,
    });
    isolated.guard(repo);

    const handle = repo.create<{ n: number }>({ n: 0 });
    await repo.flush();
    storage.failing = true;
    handle.change((d) => {
      d.n = 1;
    });
    await waitFor(() => storage.failed > 0, "a save that fails");
    await new Promise((r) => setTimeout(r, 200));
    expect(isolated.has(handle.documentId)).toBe(false);
    expect(logs.some((l) => l.msg?.includes("store was unavailable"))).toBe(true);

    storage.failing = false;
    handle.change((d) => {
      d.n = 2;
    });
    await repo.flush();
    const reopened = new Repo({ network: [], storage });
    cleanups.push(() => reopened.shutdown());
    const again = await reopened.find<{ n: number }>(handle.url);
    expect(again.doc().n).toBe(2);
  });
});
