import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { createClient, type OmsClient } from "../../src/client/index.js";
import { addLineItem } from "../../src/docs/index.js";
import { mintToken } from "../../src/relay/auth.js";
import type { FaultPoint } from "../../src/relay/submission-processor.js";
import { TEST_SECRET, tempDir, waitFor } from "./helpers.js";
import { type RelayProcess, spawnRelay } from "./relay-process.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const secret = new TextEncoder().encode(TEST_SECRET);

async function start(dir: string, port = 0, crashAt?: FaultPoint): Promise<RelayProcess> {
  const relay = await spawnRelay(dir, [], port, crashAt ? { OMS_RELAY_CRASH_AT: crashAt } : {});
  cleanups.push(() => void relay.child.kill("SIGKILL"));
  return relay;
}

async function device(relay: RelayProcess, folder: string): Promise<OmsClient> {
  const token = await mintToken(secret, {
    sub: "alice",
    org: "acme",
    roles: ["rep"],
    offline: true,
  });
  const c = await createClient({
    url: relay.url,
    token,
    storage: { folder },
    schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
  });
  cleanups.push(() => c.close());
  return c;
}

/**
 * After a restart, a new submission and a new assistance request still get their outcomes: a
 * row left over from the crash must not stall the ones after it.
 */
async function newWorkGoesThrough(c: OmsClient, orderNumber: string, ticket: string) {
  const order = await c.orders.create({ currency: "USD", customer: { name: "Later" } });
  order.change((o) => addLineItem(o, { productCode: "DH", quantity: 1, unitPrice: 100 }));
  await c.orders.submit(order.id);
  const help = await c.assistance.create({ subject: "After the restart" });
  await waitFor(
    async () => {
      await c.sync.now().catch(() => undefined);
      const state = await c.orders.state(order.id);
      const receipt = (await c.ledger.get()).assistance[help.id];
      return state.status === "submitted" && receipt !== undefined;
    },
    "a new submission and assistance request to get their outcomes after the restart",
    20_000,
  );
  expect(await c.orders.state(order.id)).toMatchObject({ accepted: { orderNumber } });
  expect((await c.ledger.get()).assistance[help.id]?.ticketNumber).toBe(ticket);
}

/** Per organization, numbers 1..n with no gap and no duplicate, every outcome delivered. */
function expectNumbering(dir: string) {
  const db = new Database(join(dir, "relay.db"), { readonly: true });
  for (const [table, column] of [
    ["order_numbers", "order_number"],
    ["assistance_tickets", "ticket_number"],
  ] as const) {
    const rows = db
      .prepare<[], { organization: string; n: string }>(
        `SELECT organization, ${column} AS n FROM ${table}`,
      )
      .all();
    for (const org of new Set(rows.map((r) => r.organization))) {
      const numbers = rows
        .filter((r) => r.organization === org)
        .map((r) => Number(/(\d+)$/.exec(r.n)?.[1]))
        .sort((a, b) => a - b);
      expect(numbers, `${table} of ${org}`).toEqual(numbers.map((_, i) => i + 1));
    }
  }
  expect(
    db.prepare("SELECT request_id FROM submission_outcomes WHERE delivered = 0").all(),
  ).toEqual([]);
  expect(db.prepare("SELECT doc_id FROM assistance_tickets WHERE delivered = 0").all()).toEqual([]);
  db.close();
}

function database(dir: string) {
  const db = new Database(join(dir, "relay.db"), { readonly: true });
  const outcomes = db
    .prepare("SELECT request_id, status, order_number, revision FROM submission_outcomes")
    .all();
  const numbers = db.prepare("SELECT order_number FROM order_numbers ORDER BY order_number").all();
  const sequences = db.prepare("SELECT name, value FROM sequences").all();
  const tickets = db
    .prepare("SELECT ticket_number FROM assistance_tickets ORDER BY ticket_number")
    .all();
  db.close();
  return { outcomes, numbers, sequences, tickets };
}

describe("a relay killed during submission processing", () => {
  it.each(["request-noted", "outcome-committed", "ledger-written", "ledger-stored"] as const)(
    "at %s: after restart, each request has exactly one outcome and no number is reused",
    async (point) => {
      const data = tempDir();
      const folder = tempDir();
      cleanups.push(data.remove, folder.remove);
      let relay = await start(data.dir);
      const c = await device(relay, folder.dir);
      const order = await c.orders.create({ currency: "USD", customer: { name: "Hansen" } });
      order.change((o) => addLineItem(o, { productCode: "DH", quantity: 1, unitPrice: 100 }));
      await c.sync.now();
      const port = relay.port;
      relay.child.kill("SIGTERM");
      await relay.exited;
      relay = await start(data.dir, port, point);
      const requestId = await c.orders.submit(order.id);
      await c.sync.now().catch(() => undefined);
      expect((await relay.exited).signal).toBe("SIGKILL");
      relay = await start(data.dir, port);
      await waitFor(
        async () => {
          await c.sync.now().catch(() => undefined);
          // The ledger and the inbox are separate documents: wait for both.
          const inbox = await c.inbox.messages();
          return (
            (await c.orders.state(order.id)).status === "submitted" &&
            inbox.some((m) => m.subject.startsWith("Order SO-000001"))
          );
        },
        "the outcome after restart",
        20_000,
      );
      expect(await c.orders.state(order.id)).toMatchObject({
        status: "submitted",
        requestId,
        accepted: { orderNumber: "SO-000001", revision: 1 },
      });
      expect(
        (await c.inbox.messages()).filter((m) => m.subject.startsWith("Order SO-000001")),
      ).toHaveLength(1);
      await newWorkGoesThrough(c, "SO-000002", "T-000001");
      relay.child.kill("SIGTERM");
      await relay.exited;
      const db = database(data.dir);
      expect(db.outcomes).toContainEqual({
        request_id: requestId,
        status: "accepted",
        order_number: "SO-000001",
        revision: 1,
      });
      expect(db.outcomes).toHaveLength(2);
      expect(db.numbers).toEqual([{ order_number: "SO-000001" }, { order_number: "SO-000002" }]);
      expect(db.sequences).toContainEqual({ name: "order:acme", value: 2 });
      expectNumbering(data.dir);
    },
    // Three relay starts (a few seconds each under load) and two waits for outcomes.
    90_000,
  );

  it("at ticket-committed: the assistance request keeps its one ticket", async () => {
    const data = tempDir();
    const folder = tempDir();
    cleanups.push(data.remove, folder.remove);
    let relay = await start(data.dir, 0, "ticket-committed");
    const port = relay.port;
    const c = await device(relay, folder.dir);
    const request = await c.assistance.create({ subject: "Sizing" });
    await c.sync.now().catch(() => undefined);
    expect((await relay.exited).signal).toBe("SIGKILL");
    relay = await start(data.dir, port);
    await waitFor(
      async () => {
        await c.sync.now().catch(() => undefined);
        return (await c.ledger.get()).assistance[request.id];
      },
      "the ticket",
      20_000,
    );
    expect((await c.ledger.get()).assistance[request.id]?.ticketNumber).toBe("T-000001");
    await newWorkGoesThrough(c, "SO-000001", "T-000002");
    relay.child.kill("SIGTERM");
    await relay.exited;
    expect(database(data.dir).tickets).toEqual([
      { ticket_number: "T-000001" },
      { ticket_number: "T-000002" },
    ]);
    expectNumbering(data.dir);
  }, 90_000);
});
