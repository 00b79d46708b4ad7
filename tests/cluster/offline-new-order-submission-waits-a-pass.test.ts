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
// `requestAppearTimeoutMs` (5 s), releases the claim and tells nobody. Node a already skipped
// the row (claimed elsewhere) and decides it at its next pass: `processorIntervalMs`, 30 s by
// default. The rep's submission stays pending about 30 s instead of under a second. (The other
// cluster tests run with --processor-interval-ms 500 or 1000, which hides it.)

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
    it("are decided within seconds of the reconnect, with the default processor interval", async () => {
      const database = await createTestDatabase("oms_offline_new_orders");
      cleanups.push(() => database.drop());
      // Default --processor-interval-ms (30 s), as deployed.
      const nodes = (await startNodes({
        databases: [database.url, database.url, database.url],
        busUrls: [services.natsUrl, services.natsUrl, services.natsUrl],
        oneAtATime: true,
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
      const started = Date.now();
      const claimedBy = new Set<string>();
      await waitFor(
        async () => {
          for (const r of (await db.query<{ node: string }>("SELECT node FROM work_claims")).rows)
            claimedBy.add(r.node);
          await c.sync.now().catch(() => undefined);
          const states = await Promise.all(orders.map((id) => c.orders.state(id)));
          return states.every((s) => s.status === "submitted");
        },
        "every outcome",
        90_000,
      );
      const took = Date.now() - started;
      expect(
        `${took < 10_000 ? "within 10 s" : `${took} ms`} (claims by ${[...claimedBy].sort().join(", ")})`,
      ).toBe(`within 10 s (claims by ${[...claimedBy].sort().join(", ")})`);
    }, 180_000);
  },
);
