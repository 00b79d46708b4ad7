import * as A from "@automerge/automerge";
import { afterEach, describe, expect, it } from "vitest";
import { type ClientOptions, createClient, type OmsClient } from "../../src/client/index.js";
import { addLineItem, addSubmissionRequest, asUserId, setHeader } from "../../src/docs/index.js";
import type { Relay } from "../../src/relay/index.js";
import { startRelay, tempDir, waitFor } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function relayAt(dir: string, port = 0): Promise<Relay> {
  const r = await startRelay(dir, { port });
  cleanups.push(() => r.close());
  return r;
}

async function device(
  r: Relay,
  storage: ClientOptions["storage"] = "memory",
  sub = "alice",
): Promise<OmsClient> {
  const token = await r.mintToken({ sub, org: "acme", roles: ["rep"], offline: true });
  const c = await createClient({
    url: r.url,
    token,
    storage,
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

describe("order submission", () => {
  it("an order submitted offline is accepted at the next sync, with its number in ledger and inbox on every device", async () => {
    const data = tempDir();
    const deviceDir = tempDir();
    cleanups.push(data.remove, deviceDir.remove);
    let relay = await relayAt(data.dir);
    const port = relay.port;
    const first = await device(relay, { folder: deviceDir.dir });
    const order = await completeOrder(first);
    await first.sync.now();

    await relay.close();
    const requestId = await first.orders.submit(order.id);
    expect(await first.orders.state(order.id)).toMatchObject({
      status: "pending",
      pending: [requestId],
    });

    relay = await relayAt(data.dir, port);
    await first.sync.now();
    await waitFor(
      async () => (await first.orders.state(order.id)).status === "submitted",
      "the outcome in the ledger",
    );
    const state = await first.orders.state(order.id);
    expect(state).toMatchObject({
      status: "submitted",
      accepted: { revision: 1, orderNumber: "SO-000001" },
    });
    // The inbox is a document of its own, which may arrive after the ledger.
    await expect
      .poll(async () => (await first.inbox.messages()).map((m) => m.subject))
      .toContain("Order SO-000001 accepted");

    const second = await device(relay);
    await second.sync.now();
    expect(await second.orders.state(order.id)).toMatchObject({
      status: "submitted",
      accepted: { orderNumber: "SO-000001" },
    });
    expect((await second.inbox.messages())[0]?.subject).toBe("Order SO-000001 accepted");

    // Later edits do not change what was transmitted; they can be submitted as an amendment.
    const submitted = JSON.stringify(await first.orders.transmitted(order.id));
    order.change((o) => setHeader(o, { projectName: "Lake house, phase 2" }));
    expect(JSON.stringify(await first.orders.transmitted(order.id))).toBe(submitted);
    expect((await first.orders.changesSinceSubmission(order.id)).map((p) => p.path[0])).toContain(
      "projectName",
    );
    await first.orders.submit(order.id);
    await waitFor(async () => {
      const s = await first.orders.state(order.id);
      return s.status === "submitted" && s.accepted.revision === 2;
    }, "revision 2");
    expect(await first.orders.state(order.id)).toMatchObject({
      accepted: { revision: 2, orderNumber: "SO-000001" },
    });
    expect(await first.orders.changesSinceSubmission(order.id)).toEqual([]);
  });

  it("two devices submitting the same heads: one is revision 1, the other a duplicate of it", async () => {
    const data = tempDir();
    cleanups.push(data.remove);
    let relay = await relayAt(data.dir);
    const port = relay.port;
    const a = await device(relay);
    const b = await device(relay);
    const order = await completeOrder(a);
    await a.sync.now();
    await b.sync.now();
    await b.orders.open(order.id);
    await waitFor(
      async () =>
        JSON.stringify((await b.orders.open(order.id)).doc()) === JSON.stringify(order.doc()),
      "b to hold the order",
    );

    await relay.close();
    await waitFor(
      () => a.sync.status.state !== "complete" && b.sync.status.state !== "complete",
      "both offline",
    );
    const ra = await a.orders.submit(order.id);
    const rb = await b.orders.submit(order.id);
    relay = await relayAt(data.dir, port);
    await a.sync.now();
    await b.sync.now();
    await relay.processed();
    await waitFor(async () => {
      const ledger = await a.ledger.get();
      return ledger.submissions[ra as never] && ledger.submissions[rb as never];
    }, "both outcomes");
    const ledger = await a.ledger.get();
    const outcomes = [ledger.submissions[ra as never], ledger.submissions[rb as never]];
    expect(outcomes.map((o) => o?.status).sort()).toEqual(["accepted", "duplicate"]);
    const accepted = outcomes.find((o) => o?.status === "accepted");
    const duplicate = outcomes.find((o) => o?.status === "duplicate");
    expect(duplicate).toMatchObject({
      revision: 1,
      orderNumber: (accepted as { orderNumber: string }).orderNumber,
    });
    expect((duplicate as { duplicateOf: string }).duplicateOf).toBe(
      accepted === outcomes[0] ? ra : rb,
    );
  });

  it("the relay rejects a request for an order that was not complete, with the reason", async () => {
    const data = tempDir();
    cleanups.push(data.remove);
    const relay = await relayAt(data.dir);
    const c = await device(relay);
    const order = await c.orders.create({ currency: "USD" });
    // Bypass the client's completeness check, as a buggy client would.
    const requestId = order.change((o) =>
      addSubmissionRequest(o, {
        requestedBy: asUserId("alice"),
        heads: A.getHeads(order.doc() as A.Doc<unknown>),
        lastSyncAt: c.gate.state.lastSyncAt,
      }),
    );
    await c.sync.now();
    await waitFor(
      async () => (await c.orders.state(order.id)).status === "rejected",
      "the rejection",
    );
    expect(await c.orders.state(order.id)).toMatchObject({
      status: "rejected",
      requestId,
      rejected: { code: "INCOMPLETE" },
    });
    await expect
      .poll(async () => (await c.inbox.messages())[0]?.body)
      .toMatch(/needs a customer name; the order needs at least one line item/);
    await expect(c.orders.submit(order.id)).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });

  it("an assistance request written offline gets a ticket after sync", async () => {
    const data = tempDir();
    const deviceDir = tempDir();
    cleanups.push(data.remove, deviceDir.remove);
    let relay = await relayAt(data.dir);
    const port = relay.port;
    const c = await device(relay, { folder: deviceDir.dir });
    await c.sync.now();
    await relay.close();
    const request = await c.assistance.create({
      subject: "Egress window sizing",
      body: "Basement bedroom, 36 in wall",
    });
    relay = await relayAt(data.dir, port);
    await c.sync.now();
    await waitFor(async () => (await c.ledger.get()).assistance[request.id], "the ticket");
    expect((await c.ledger.get()).assistance[request.id]).toMatchObject({
      ticketNumber: "T-000001",
      state: "open",
    });
    await expect
      .poll(async () => (await c.inbox.messages()).map((m) => m.subject))
      .toContain("Assistance request received: ticket T-000001");
  });
});
