import { afterEach, describe, expect, it } from "vitest";
import { createClient, type OmsClient } from "../../src/client/index.js";
import { addLineItem, setHeader } from "../../src/docs/index.js";
import type { Relay } from "../../src/relay/index.js";
import { startRelay, tempDir, waitFor } from "./helpers.js";

// Pressing Submit twice submits once: a second submit of an order whose content is already in a
// pending or accepted request returns that request instead of writing an empty amendment.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function relayAt(dir: string, port = 0): Promise<Relay> {
  const relay = await startRelay(dir, { port });
  cleanups.push(() => relay.close());
  return relay;
}

async function device(relay: Relay): Promise<OmsClient> {
  const c = await createClient({
    url: relay.url,
    token: await relay.mintToken({ sub: "alice", org: "acme", roles: ["rep"], offline: true }),
    storage: "memory",
    schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
  });
  cleanups.push(() => c.close());
  return c;
}

async function completeOrder(c: OmsClient) {
  const order = await c.orders.create({
    currency: "USD",
    customer: { name: "Hansen Homes" },
    projectName: "Lake house",
  });
  order.change((o) => addLineItem(o, { productCode: "DH-3046", quantity: 4, unitPrice: 45_900 }));
  return order;
}

describe("submitting an order twice", () => {
  it("offline: one request, one revision, no amendment message; an edit then makes revision 2", async () => {
    const data = tempDir();
    cleanups.push(data.remove);
    let relay = await relayAt(data.dir);
    const port = relay.port;
    const c = await device(relay);
    const order = await completeOrder(c);
    await c.sync.now();
    await relay.close();

    const first = await c.orders.submit(order.id);
    const second = await c.orders.submit(order.id);
    expect(second).toBe(first);
    expect(Object.keys(order.doc().submissions)).toEqual([first]);

    relay = await relayAt(data.dir, port);
    await c.sync.now();
    await waitFor(
      async () => (await c.orders.state(order.id)).status === "submitted",
      "the outcome",
    );
    // Accepted and unchanged since: submitting again is still the same request.
    expect(await c.orders.submit(order.id)).toBe(first);
    expect(Object.keys(order.doc().submissions)).toEqual([first]);
    await c.sync.now();
    await relay.processed();
    const ledger = await c.ledger.get();
    expect(Object.values(ledger.submissions).map((o) => o.status)).toEqual(["accepted"]);
    await expect
      .poll(async () => (await c.inbox.messages()).map((m) => m.subject))
      .toEqual(["Order SO-000001 accepted"]);

    order.change((o) => setHeader(o, { projectName: "Lake house, phase 2" }));
    const amendment = await c.orders.submit(order.id);
    expect(amendment).not.toBe(first);
    await c.sync.now();
    await waitFor(async () => {
      const s = await c.orders.state(order.id);
      return s.status === "submitted" && s.accepted.revision === 2;
    }, "revision 2");
  });

  it("online, called twice at once: one request", async () => {
    const data = tempDir();
    cleanups.push(data.remove);
    const relay = await relayAt(data.dir);
    const c = await device(relay);
    const order = await completeOrder(c);
    const [a, b] = await Promise.all([c.orders.submit(order.id), c.orders.submit(order.id)]);
    expect(b).toBe(a);
    expect(await c.orders.submit(order.id)).toBe(a);
    expect(Object.keys(order.doc().submissions)).toEqual([a]);
    await c.sync.now();
    await relay.processed();
    await waitFor(
      async () => (await c.orders.state(order.id)).status === "submitted",
      "the outcome",
    );
    expect(Object.keys((await c.ledger.get()).submissions)).toEqual([a]);
  });
});
