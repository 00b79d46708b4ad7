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

function database(dir: string) {
  const db = new Database(join(dir, "relay.db"), { readonly: true });
  const outcomes = db
    .prepare("SELECT request_id, status, order_number, revision FROM submission_outcomes")
    .all();
  const numbers = db.prepare("SELECT order_number FROM order_numbers").all();
  const sequences = db.prepare("SELECT name, value FROM sequences").all();
  const tickets = db.prepare("SELECT ticket_number FROM assistance_tickets").all();
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
      relay.child.kill("SIGTERM");
      await relay.exited;
      const db = database(data.dir);
      expect(db.outcomes).toEqual([
        { request_id: requestId, status: "accepted", order_number: "SO-000001", revision: 1 },
      ]);
      expect(db.numbers).toEqual([{ order_number: "SO-000001" }]);
      expect(db.sequences).toEqual([{ name: "order:acme", value: 1 }]);
    },
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
    relay.child.kill("SIGTERM");
    await relay.exited;
    expect(database(data.dir).tickets).toEqual([{ ticket_number: "T-000001" }]);
  });
});
