import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { createClient, type OmsClient } from "../../src/client/index.js";
import { addLineItem } from "../../src/docs/index.js";
import { waitFor } from "../integration/helpers.js";
import { services, servicesAvailable } from "../integration/services.js";
import { createTestDatabase } from "../store/postgres-test-database.js";
import { startNodes, type TestNode, token } from "./nodes.js";

// A rep creates orders offline and submits them, then reconnects to node a. Node a notes each
// request before its change is stored and tells the other nodes there is work; node b or c often
// claims the decision first, cannot load the order (not in PostgreSQL yet: a new order), waits
// `requestAppearTimeoutMs` (5 s) and releases the claim. Node a skipped the row while it was
// claimed; unless the releasing node tells the others, node a decides it only at its next
// periodic pass (`processorIntervalMs`, 30 s by default), and the rep's submission stays pending
// that long. The nodes here run with a 10-minute pass, so every outcome must come from notices.

const available = await servicesAvailable(
  "tests/cluster/offline-new-order-submission-waits-a-pass.test.ts",
);
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A URL nothing listens on: the client works offline. */
async function nowhere(): Promise<string> {
  const server = createServer();
  const port = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
  );
  await new Promise((r) => server.close(r));
  return `ws://127.0.0.1:${port}`;
}

async function open(url: string, folder: string): Promise<OmsClient> {
  return createClient({
    url,
    token: await token("alice"),
    storage: { folder },
    schedule: { backoffInitialMs: 100, backoffMaxMs: 500 },
  });
}

describe.skipIf(!available)(
  "orders created and submitted offline, on a three-node deployment",
  () => {
    it("are decided after the reconnect through notices alone, whichever node claims them first", async () => {
      const database = await createTestDatabase("oms_offline_new_orders");
      cleanups.push(() => database.drop());
      // A periodic pass too rare to rescue anything within the test.
      const nodes = (await startNodes({
        databases: [database.url, database.url, database.url],
        busUrls: [services.natsUrl, services.natsUrl, services.natsUrl],
        oneAtATime: true,
        extraArgs: ["--processor-interval-ms", "600000"],
      })) as [TestNode, TestNode, TestNode];
      cleanups.push(() => {
        for (const n of nodes) n.process.child.kill("SIGKILL");
      });
      const folder = mkdtempSync(join(tmpdir(), "oms-offline-orders-"));
      cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
      // Other reps keep nodes b and c busy (their adapters ready).
      for (const n of [nodes[1], nodes[2]]) {
        const other = await open(n.process.url, mkdtempSync(join(tmpdir(), "oms-other-")));
        cleanups.push(() => other.close());
      }
      let c = await open(nodes[0].process.url, folder);
      await c.sync.now();
      await c.close();

      c = await open(await nowhere(), folder);
      const orders: string[] = [];
      for (let i = 0; i < 4; i++) {
        const order = await c.orders.create({
          currency: "USD",
          customer: { name: `Customer ${i}` },
          projectName: "P",
        });
        order.change((o) =>
          addLineItem(o, { productCode: "DH-3046", quantity: 1, unitPrice: 45_900 }),
        );
        await c.orders.submit(order.id);
        orders.push(order.id);
      }
      await c.close();

      c = await open(nodes[0].process.url, folder);
      cleanups.push(() => c.close());
      const db = new pg.Client({ connectionString: database.url });
      await db.connect();
      cleanups.push(() => db.end());
      const claimedBy = new Set<string>();
      await waitFor(
        async () => {
          for (const r of (await db.query<{ node: string }>("SELECT node FROM work_claims")).rows)
            claimedBy.add(r.node);
          await c.sync.now().catch(() => undefined);
          const states = await Promise.all(orders.map((id) => c.orders.state(id)));
          return states.every((s) => s.status === "submitted");
        },
        "every outcome, with no periodic pass to fall back on",
        60_000,
      );
      expect(claimedBy.size).toBeGreaterThan(0);
    }, 180_000);
  },
);
