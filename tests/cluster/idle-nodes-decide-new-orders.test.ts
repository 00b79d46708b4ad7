import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { createClient } from "../../src/client/index.js";
import { addLineItem } from "../../src/docs/index.js";
import { waitFor } from "../integration/helpers.js";
import { services, servicesAvailable } from "../integration/services.js";
import { createTestDatabase } from "../store/postgres-test-database.js";
import { startNodes, type TestNode, token } from "./nodes.js";

// A node that no WebSocket client has connected to since it started (a node just restarted, or
// one the load balancer sends nobody) claims the decision of a request it hears of on the bus;
// when the order is new, its copy is not in PostgreSQL yet, and the node's `repo.find` waits for
// the network adapter to be "ready", which automerge-repo's WebSocketServerAdapter becomes only
// when a first socket connects. The find never returns: the row's claim is held for its whole
// lease (30 s) and that node's processor never runs another pass (decisions, deliveries,
// tickets) until some client connects to it. A rep submitting a new order waited 30 s.
// tests/integration/relay-idle-find.test.ts checks the cause without any timing; this runs the
// rep's side across three nodes and checks that later work still flows.

const available = await servicesAvailable("tests/cluster/idle-node-processor-hangs.test.ts");
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!available)("a node with no client connected yet", () => {
  it("decides new orders' submissions, whichever node claims them, and later work flows", async () => {
    const database = await createTestDatabase("oms_idle_node");
    cleanups.push(() => database.drop());
    const nodes = (await startNodes({
      databases: [database.url, database.url, database.url],
      busUrls: [services.natsUrl, services.natsUrl, services.natsUrl],
      extraArgs: ["--processor-interval-ms", "500"],
      oneAtATime: true,
    })) as [TestNode, TestNode, TestNode];
    cleanups.push(() => {
      for (const n of nodes) n.process.child.kill("SIGKILL");
    });
    // The rep's client is on node a; nodes b and c have no client (as after a restart).
    const folder = mkdtempSync(join(tmpdir(), "oms-idle-"));
    cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
    const c = await createClient({
      url: nodes[0].process.url,
      token: await token("alice"),
      storage: { folder },
      schedule: { backoffInitialMs: 100, backoffMaxMs: 500 },
    });
    cleanups.push(() => c.close());
    await c.sync.now();
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    cleanups.push(() => db.end());

    const claimedBy = new Set<string>();
    for (let round = 0; round < 3; round++) {
      const order = await c.orders.create({
        currency: "USD",
        customer: { name: `Customer ${round}` },
        projectName: "P",
      });
      order.change((o) =>
        addLineItem(o, { productCode: "DH-3046", quantity: 1, unitPrice: 45_900 }),
      );
      const request = await c.orders.submit(order.id);
      await waitFor(
        async () => {
          const q = await db.query<{ node: string }>(
            "SELECT node FROM work_claims WHERE kind = 'decide' AND id = $1",
            [request],
          );
          for (const r of q.rows) claimedBy.add(r.node);
          await c.sync.now().catch(() => undefined);
          return (await c.orders.state(order.id)).status === "submitted";
        },
        `the outcome of request ${round}`,
        60_000,
      );
    }
    expect(claimedBy.size).toBeGreaterThan(0);
    // Later work flows through node b too: a second device there gets every order and its edit
    // reaches the first device.
    const folder2 = mkdtempSync(join(tmpdir(), "oms-idle-"));
    cleanups.push(() => rmSync(folder2, { recursive: true, force: true }));
    const c2 = await createClient({
      url: nodes[1].process.url,
      token: await token("alice"),
      storage: { folder: folder2 },
      schedule: { backoffInitialMs: 100, backoffMaxMs: 500 },
    });
    cleanups.push(() => c2.close());
    await waitFor(
      async () => {
        await c2.sync.now().catch(() => undefined);
        return c2.sync.status.state === "complete" && (await c2.orders.list()).length === 3;
      },
      "the orders on a device of node b",
      30_000,
    );
    const [first] = await c2.orders.list();
    const id = (first as { id: string }).id;
    (await c2.orders.open(id)).change((o) =>
      addLineItem(o, { productCode: "SL-6080", quantity: 1, unitPrice: 1_000 }),
    );
    await waitFor(
      async () => {
        await c.sync.now().catch(() => undefined);
        return Object.keys((await c.orders.open(id)).doc().lineItems).length === 2;
      },
      "an edit from node b on node a's device",
      30_000,
    );
  }, 240_000);
});
