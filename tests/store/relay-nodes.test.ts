import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { createClient } from "../../src/client/index.js";
import { addLineItem } from "../../src/docs/index.js";
import type { Relay } from "../../src/relay/index.js";
import { startRelay, tempDir, waitFor } from "../integration/helpers.js";
import { createTestDatabase, postgresAvailable } from "./postgres-test-database.js";

const available = await postgresAvailable();
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe.skipIf(!available)("two relays on one PostgreSQL store", () => {
  it("decide every request once, whichever processor gets to it, and number orders without gaps", async () => {
    const database = await createTestDatabase("oms_nodes");
    cleanups.push(() => database.drop());
    // Both processors pass over the store every 50 ms: both see every request at once.
    const limits = { processorIntervalMs: 50 };
    const nodes: Relay[] = [];
    for (let i = 0; i < 2; i++) {
      const data = tempDir();
      const relay = await startRelay(data.dir, { database: database.url, limits });
      cleanups.push(data.remove, () => relay.close());
      nodes.push(relay);
    }
    const [a, b] = nodes as [Relay, Relay];
    const token = await a.mintToken({ sub: "alice", org: "acme", roles: ["rep"], offline: true });
    const alice = await createClient({ url: a.url, token, storage: "memory" });
    cleanups.push(() => alice.close());
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const order = await alice.orders.create({
        currency: "USD",
        customer: { name: "Hansen Homes" },
        projectName: `House ${i}`,
      });
      order.change((o) => addLineItem(o, { productCode: "DH-3046", quantity: 1, unitPrice: 900 }));
      ids.push(order.id);
    }
    await alice.sync.now();
    for (const id of ids) await alice.orders.submit(id);
    await alice.sync.now();

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    cleanups.push(() => client.end());
    const outcomes = await waitFor(async () => {
      const { rows } = await client.query<{ order_number: string; delivered: boolean }>(
        "SELECT order_number, delivered FROM submission_outcomes ORDER BY order_number",
      );
      return rows.length === 3 && rows.every((r) => r.delivered) ? rows : undefined;
    }, "three delivered outcomes");
    expect(outcomes.map((r) => r.order_number)).toEqual(["SO-000001", "SO-000002", "SO-000003"]);
    // The second node serves the same data: the first order's state from its ledger.
    const viaB = await createClient({ url: b.url, token, storage: "memory" });
    cleanups.push(() => viaB.close());
    await viaB.sync.now();
    await waitFor(
      async () => (await viaB.orders.state(ids[0] as string)).status === "submitted",
      "the outcome on the second node",
    );
  });
});
