import { join } from "node:path";
import { Writable } from "node:stream";
import Database from "better-sqlite3";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createClient, type OmsClient } from "../../src/client/index.js";
import { addLineItem, type Ledger } from "../../src/docs/index.js";
import { defaultOrderNumber } from "../../src/relay/config.js";
import type { Relay, RelayOptions } from "../../src/relay/index.js";
import { startRelay, tempDir, waitFor } from "./helpers.js";

// One row that cannot be decided or delivered (a number collision, a ledger holding another
// outcome) must never keep other rows, of any user or organization, from their outcomes.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function relayWithLog(options: RelayOptions = {}) {
  const data = tempDir();
  cleanups.push(data.remove);
  const lines: { level: number; msg: string; step?: string }[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const relay = await startRelay(data.dir, {
    logger: pino({ level: "info" }, sink),
    limits: { processorRetryInitialMs: 100, processorRetryMaxMs: 400 },
    ...options,
  });
  cleanups.push(() => relay.close());
  return { relay, lines, dir: data.dir };
}

async function device(relay: Relay, sub: string, org: string): Promise<OmsClient> {
  const token = await relay.mintToken({ sub, org, roles: ["rep"], offline: true });
  const c = await createClient({
    url: relay.url,
    token,
    storage: "memory",
    schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
  });
  cleanups.push(() => c.close());
  return c;
}

/** Creates a complete order, submits it, syncs: returns the order id and request id. */
async function submitNew(c: OmsClient): Promise<{ orderId: string; requestId: string }> {
  const order = await c.orders.create({ currency: "USD", customer: { name: "Hansen" } });
  order.change((o) => addLineItem(o, { productCode: "DH", quantity: 1, unitPrice: 100 }));
  const requestId = await c.orders.submit(order.id);
  await c.sync.now();
  return { orderId: order.id, requestId };
}

async function numberOf(c: OmsClient, orderId: string, what: string): Promise<string> {
  return waitFor(
    async () => {
      await c.sync.now().catch(() => undefined);
      const state = await c.orders.state(orderId);
      return state.status === "submitted" && state.accepted.orderNumber;
    },
    what,
    15_000,
  );
}

async function ticketOf(c: OmsClient, id: string, what: string): Promise<string> {
  return waitFor(
    async () => {
      await c.sync.now().catch(() => undefined);
      return (await c.ledger.get()).assistance[id as never]?.ticketNumber;
    },
    what,
    15_000,
  );
}

async function failures(relay: Relay): Promise<Record<string, number>> {
  const text = await (await fetch(`${relay.httpUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^oms_relay_processing_failures_total\{step="([^"]+)"\} (\d+)/gm))
    out[m[1] as string] = Number(m[2]);
  return out;
}

describe("order and ticket numbers are per organization", () => {
  it("two organizations both get SO-000001 and T-000001, and their next requests still go through", async () => {
    const { relay } = await relayWithLog();
    const alice = await device(relay, "alice", "acme");
    const gina = await device(relay, "gina", "globex");

    const a1 = await submitNew(alice);
    expect(await numberOf(alice, a1.orderId, "acme's first order")).toBe("SO-000001");
    const g1 = await submitNew(gina);
    expect(await numberOf(gina, g1.orderId, "globex's first order")).toBe("SO-000001");
    const a2 = await submitNew(alice);
    const g2 = await submitNew(gina);
    expect(await numberOf(alice, a2.orderId, "acme's second order")).toBe("SO-000002");
    expect(await numberOf(gina, g2.orderId, "globex's second order")).toBe("SO-000002");

    const at = await alice.assistance.create({ subject: "Sizing" });
    await alice.sync.now();
    expect(await ticketOf(alice, at.id, "acme's ticket")).toBe("T-000001");
    const gt = await gina.assistance.create({ subject: "Sizing" });
    await gina.sync.now();
    expect(await ticketOf(gina, gt.id, "globex's ticket")).toBe("T-000001");
  });

  it("a format that repeats a number within an organization fails that row alone, logged and counted", async () => {
    const { relay, lines } = await relayWithLog({
      orderNumberFormat: (org, n) => (org === "dupes" ? "D-1" : defaultOrderNumber(org, n)),
    });
    const dora = await device(relay, "dora", "dupes");
    const alice = await device(relay, "alice", "acme");

    const d1 = await submitNew(dora);
    expect(await numberOf(dora, d1.orderId, "dupes' first order")).toBe("D-1");
    const d2 = await submitNew(dora);
    await waitFor(
      () => lines.some((l) => l.level === 50 && l.step === "decide"),
      "the collision logged",
    );
    expect(lines.find((l) => l.level === 50 && l.step === "decide")?.msg).toMatch(
      /submission processing failed at step "decide"/,
    );
    const a1 = await submitNew(alice);
    expect(await numberOf(alice, a1.orderId, "acme's order after the collision")).toBe("SO-000001");
    // A second order in the colliding organization is not blocked by the failing one either:
    // it fails on its own (same format), and both keep being retried.
    expect((await dora.orders.state(d2.orderId)).status).toBe("pending");
    expect((await failures(relay)).decide).toBeGreaterThanOrEqual(1);
  });
});

describe("a row that cannot be delivered", () => {
  it("does not stop later outcomes and tickets: it is logged, counted and retried", async () => {
    const { relay, lines, dir } = await relayWithLog();
    const alice = await device(relay, "alice", "acme");
    await alice.sync.now();

    // Alice's ledger already holds other outcomes for a request and a ticket the database has
    // still to deliver (as after restoring a ledger newer than the database): delivering either
    // fails every time.
    const db = new Database(join(dir, "relay.db"));
    cleanups.push(() => void db.close());
    const { doc_id: ledgerId } = db
      .prepare<[], { doc_id: string }>(
        "SELECT doc_id FROM user_documents WHERE user_id = 'alice' AND kind = 'ledger'",
      )
      .get() as { doc_id: string };
    const ledger = await relay.repo.find<Ledger>(ledgerId as never);
    ledger.change((l) => {
      l.submissions["poison-request" as never] = {
        status: "rejected",
        orderId: "poison-order" as never,
        processedAt: 1,
        code: "OTHER",
        reason: "another outcome",
      };
      l.assistance["poison-doc" as never] = {
        ticketNumber: "T-OTHER",
        state: "open",
        receivedAt: 1,
      };
    });
    await relay.repo.flush([ledgerId as never]);
    db.prepare(
      `INSERT INTO submission_outcomes (request_id, order_id, organization, owner, requested_by,
         status, code, reason, processed_at) VALUES
         ('poison-request', 'poison-order', 'acme', 'alice', 'alice', 'rejected', 'X', 'y', 0)`,
    ).run();
    db.prepare(
      `INSERT INTO assistance_tickets (doc_id, organization, owner, ticket_number, received_at)
       VALUES ('poison-doc', 'acme', 'alice', 'T-999999', 0)`,
    ).run();

    const order = await submitNew(alice);
    const help = await alice.assistance.create({ subject: "Sizing" });
    await alice.sync.now();
    expect(await numberOf(alice, order.orderId, "the order's outcome")).toBe("SO-000001");
    expect(await ticketOf(alice, help.id, "the ticket")).toBe("T-000001");

    const counted = await failures(relay);
    expect(counted.deliver).toBeGreaterThanOrEqual(1);
    expect(counted["ticket-deliver"]).toBeGreaterThanOrEqual(1);
    expect(lines.some((l) => l.level === 50 && l.step === "deliver")).toBe(true);
    const undelivered = db
      .prepare("SELECT request_id FROM submission_outcomes WHERE delivered = 0")
      .all();
    expect(undelivered).toEqual([{ request_id: "poison-request" }]);
  });
});
