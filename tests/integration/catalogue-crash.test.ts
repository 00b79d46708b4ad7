import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createClient, type OmsClient } from "../../src/client/index.js";
import { addLineItem, setHeader } from "../../src/docs/index.js";
import { mintToken } from "../../src/relay/auth.js";
import { openDatabase } from "../../src/relay/index.js";
import { startRelay, TEST_SECRET, tempDir, waitFor } from "./helpers.js";
import { spawnRelay } from "./relay-process.js";

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const secret = new TextEncoder().encode(TEST_SECRET);

function catalogueRows(dataDir: string): Record<string, unknown>[] {
  const db = openDatabase(join(dataDir, "relay.db"));
  try {
    return db.prepare("SELECT * FROM catalogue ORDER BY doc_id").all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

function rebuildWithCli(dataDir: string): { rebuilt: number; skipped: number } {
  const run = spawnSync(
    process.execPath,
    ["--import", "tsx", "src/relay/cli.ts", "catalogue", "rebuild", "--data", dataDir],
    { encoding: "utf8", env: { ...process.env, OMS_RELAY_SECRET: TEST_SECRET } },
  );
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as { rebuilt: number; skipped: number };
}

async function device(url: string, sub = "alice"): Promise<OmsClient> {
  const c = await createClient({
    url,
    token: await mintToken(secret, { sub, org: "acme", roles: ["rep"], offline: true }),
    storage: "memory",
    schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
  });
  cleanups.push(() => c.close());
  await c.sync.now();
  return c;
}

describe("the catalogue across crashes", () => {
  it("oms-relay --help names the catalogue's endpoint and its rebuild command", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "src/relay/cli.ts", "--help"], {
      encoding: "utf8",
    });
    expect(run.status, run.stderr).toBe(0);
    for (const named of ["GET  /v1/documents", "catalogue rebuild", "/v1/sync/bulk", "/v1/admin/"])
      expect(run.stdout).toContain(named);
  });

  it("after a SIGKILL of the relay CLI during edits, matches a rebuild from the stored documents", async () => {
    const data = tempDir();
    cleanups.push(data.remove);
    const relay = await spawnRelay(data.dir);
    cleanups.push(() => void relay.child.kill("SIGKILL"));
    const alice = await device(relay.url);
    const docs = [];
    for (let i = 0; i < 3; i++) {
      const q = await alice.quotes.create({ currency: "USD", customer: { name: `C${i}` } });
      q.change((d) => addLineItem(d, { productCode: "P", quantity: 1 + i, unitPrice: 100 }));
      docs.push(q);
    }
    const order = await alice.orders.create({ currency: "USD", customer: { name: "O" } });
    docs.push(order);
    await alice.sync.now();
    // Edits keep flowing while the relay is killed.
    let edits = 0;
    const editing = (async () => {
      while (relay.child.exitCode === null && relay.child.signalCode === null) {
        const d = docs[edits % docs.length];
        d?.change((x) => setHeader(x, { customer: { name: `edit ${edits}` } }));
        edits++;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await waitFor(() => edits > 15, "edits under way");
    relay.child.kill("SIGKILL");
    expect((await relay.exited).signal).toBe("SIGKILL");
    await editing;
    await alice.close();

    // The relay starts again (repairing rows whose store the kill interrupted) and stops.
    const again = await startRelay(data.dir);
    await again.close();
    const kept = catalogueRows(data.dir);
    expect(kept).toHaveLength(4);
    const { rebuilt } = rebuildWithCli(data.dir);
    expect(rebuilt).toBe(4);
    expect(catalogueRows(data.dir)).toEqual(kept);
  });

  it("a row whose store was interrupted is derived again from storage on the next start", async () => {
    const data = tempDir();
    cleanups.push(data.remove);
    let relay = await startRelay(data.dir);
    const alice = await device(relay.url);
    const q = await alice.quotes.create({ currency: "USD", customer: { name: "Stored" } });
    await alice.sync.now();
    await alice.close();
    await relay.close();
    // What a kill between storing the document and writing its row leaves behind.
    const db = openDatabase(join(data.dir, "relay.db"));
    db.prepare("UPDATE catalogue SET customer = 'stale', heads = 'x' WHERE doc_id = ?").run(q.id);
    db.prepare("INSERT INTO catalogue_pending (doc_id) VALUES (?)").run(q.id);
    db.close();
    relay = await startRelay(data.dir);
    await relay.close();
    const [row] = catalogueRows(data.dir);
    expect(row).toMatchObject({ doc_id: q.id, customer: "Stored" });
    const db2 = openDatabase(join(data.dir, "relay.db"));
    expect(db2.prepare("SELECT count(*) AS n FROM catalogue_pending").get()).toEqual({ n: 0 });
    db2.close();
  });
});
