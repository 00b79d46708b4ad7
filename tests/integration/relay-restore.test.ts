import { cpSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type ClientOptions, createClient, type OmsClient } from "../../src/client/index.js";
import { addLineItem, type Quote } from "../../src/docs/index.js";
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
  storage: ClientOptions["storage"],
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

async function completeOrder(c: OmsClient, projectName: string) {
  const order = await c.orders.create({
    currency: "USD",
    customer: { name: "Hansen Homes" },
    projectName,
  });
  order.change((o) => addLineItem(o, { productCode: "DH-3046", quantity: 4, unitPrice: 45_900 }));
  return order;
}

/** Submits and waits for the outcome: its order number. */
async function submitted(c: OmsClient, relay: Relay, orderId: string): Promise<string> {
  await c.orders.submit(orderId);
  await c.sync.now();
  await relay.processed();
  const state = await waitFor(async () => {
    const s = await c.orders.state(orderId);
    return s.status === "submitted" && s;
  }, `the outcome of ${orderId} in the ledger`);
  return (state as { accepted: { orderNumber: string } }).accepted.orderNumber;
}

/** Syncs until the ledger holds the outcome of every listed order. */
async function syncUntilDecided(c: OmsClient, relay: Relay, orderIds: string[]) {
  await waitFor(async () => {
    await c.sync.now();
    await relay.processed();
    for (const id of orderIds) if ((await c.orders.state(id)).status !== "submitted") return false;
    return true;
  }, "the learned outcomes in the ledger");
}

describe("a relay that lost its data", () => {
  it("learns back from a device everything it held, keeps its order numbers, and issues the next one", async () => {
    const relayData = tempDir();
    const deviceDir = tempDir();
    cleanups.push(relayData.remove, deviceDir.remove);
    let relay = await relayAt(relayData.dir);
    const port = relay.port;
    let alice = await device(relay, { folder: deviceDir.dir });
    const quote = await alice.quotes.create({ currency: "USD", projectName: "Lake house" });
    const accepted = await completeOrder(alice, "accepted before the loss");
    const draft = await completeOrder(alice, "a draft");
    const help = await alice.assistance.create({ subject: "Egress window", body: "36 in wall" });
    await alice.sync.now();
    expect(await submitted(alice, relay, accepted.id)).toBe("SO-000001");
    await waitFor(async () => (await alice.ledger.get()).assistance[help.id], "the ticket");
    const ledgerBefore = await alice.ledger.get();
    expect(ledgerBefore.assistance[help.id]?.ticketNumber).toBe("T-000001");
    await alice.close();
    await relay.close();

    // The relay's data folder is lost; the relay starts empty with the same secret.
    rmSync(relayData.dir, { recursive: true, force: true });
    relay = await relayAt(relayData.dir, port);
    alice = await device(relay, { folder: deviceDir.dir });
    await syncUntilDecided(alice, relay, [accepted.id]);
    await waitFor(async () => {
      await alice.sync.now();
      return (await alice.ledger.get()).assistance[help.id];
    }, "the learned ticket");
    expect(alice.sync.status.state).toBe("complete");

    expect((await alice.quotes.list()).map((q) => q.id)).toEqual([quote.id]);
    expect((await alice.orders.list()).map((o) => o.id).sort()).toEqual(
      [accepted.id, draft.id].sort(),
    );
    expect((await relay.repo.find<Quote>(quote.id as never)).doc().projectName).toBe("Lake house");
    // The same outcome, not a second decision.
    const ledgerAfter = await alice.ledger.get();
    expect(JSON.parse(JSON.stringify(ledgerAfter.submissions))).toEqual(
      JSON.parse(JSON.stringify(ledgerBefore.submissions)),
    );
    expect(ledgerAfter.assistance[help.id]?.ticketNumber).toBe("T-000001");
    expect(await alice.orders.state(accepted.id)).toMatchObject({
      accepted: { orderNumber: "SO-000001" },
    });

    // A new order gets the next number, not one issued before the loss.
    expect(await submitted(alice, relay, draft.id)).toBe("SO-000002");
    const nextHelp = await alice.assistance.create({ subject: "Sill height", body: "24 in" });
    await waitFor(async () => {
      await alice.sync.now();
      await relay.processed();
      return (await alice.ledger.get()).assistance[nextHelp.id];
    }, "the next ticket");
    expect((await alice.ledger.get()).assistance[nextHelp.id]?.ticketNumber).toBe("T-000002");
    await alice.sync.now();
    expect(alice.sync.status.state).toBe("complete");

    // Another device of Alice's sees it all.
    const other = tempDir();
    cleanups.push(other.remove);
    const second = await device(relay, { folder: other.dir });
    await second.sync.now();
    expect((await second.orders.list()).length).toBe(2);
    expect((await second.quotes.list()).map((q) => q.id)).toEqual([quote.id]);
  });

  it("restored from an older copy of its data folder, learns back what came after, and decides nothing twice", async () => {
    const relayData = tempDir();
    const backup = tempDir();
    const deviceDir = tempDir();
    const bobDir = tempDir();
    cleanups.push(relayData.remove, backup.remove, deviceDir.remove, bobDir.remove);
    let relay = await relayAt(relayData.dir);
    const port = relay.port;
    let alice = await device(relay, { folder: deviceDir.dir });
    const quote = await alice.quotes.create({ currency: "USD", projectName: "Lake house" });
    const first = await completeOrder(alice, "before the backup");
    await alice.sync.now();
    expect(await submitted(alice, relay, first.id)).toBe("SO-000001");
    await alice.close();
    const bob = await device(relay, { folder: bobDir.dir }, "bob");
    await bob.sync.now();
    await bob.close();

    // The backup: a copy of the data folder taken while the relay is stopped.
    await relay.close();
    cpSync(relayData.dir, backup.dir, { recursive: true });
    relay = await relayAt(relayData.dir, port);

    // Work after the backup: a new quote, an edit, an accepted order.
    alice = await device(relay, { folder: deviceDir.dir });
    const later = await alice.quotes.create({ currency: "USD", projectName: "Boat house" });
    (await alice.quotes.open(quote.id)).change((q) => {
      q.notes = "edited after the backup";
    });
    const second = await completeOrder(alice, "after the backup");
    await alice.sync.now();
    expect(await submitted(alice, relay, second.id)).toBe("SO-000002");
    const secondOutcome = JSON.parse(JSON.stringify(await alice.ledger.get())).submissions;
    await alice.close();
    await relay.close();

    // The old copy is put back.
    rmSync(relayData.dir, { recursive: true, force: true });
    cpSync(backup.dir, relayData.dir, { recursive: true });
    relay = await relayAt(join(relayData.dir), port);
    alice = await device(relay, { folder: deviceDir.dir });
    await syncUntilDecided(alice, relay, [first.id, second.id]);
    await alice.sync.now();
    expect(alice.sync.status).toMatchObject({ state: "complete", quarantined: 0 });

    expect((await alice.quotes.list()).map((q) => q.id).sort()).toEqual(
      [quote.id, later.id].sort(),
    );
    const relayQuote = (await relay.repo.find<Quote>(quote.id as never)).doc();
    expect(relayQuote.notes).toBe("edited after the backup");
    expect((await relay.repo.find<Quote>(later.id as never)).doc().projectName).toBe("Boat house");
    // Decided once: the outcome is the one decided after the backup, not a new decision.
    expect(JSON.parse(JSON.stringify(await alice.ledger.get())).submissions).toEqual(secondOutcome);

    // Bob's next order gets a number never issued before.
    const bobAgain = await device(relay, { folder: bobDir.dir }, "bob");
    const bobs = await completeOrder(bobAgain, "Bob's");
    await bobAgain.sync.now();
    expect(await submitted(bobAgain, relay, bobs.id)).toBe("SO-000003");
  });
});

describe("POST /v1/restore/receipts", () => {
  it("learns only entries this relay sealed for the caller's organization, once", async () => {
    const relayData = tempDir();
    const deviceDir = tempDir();
    cleanups.push(relayData.remove, deviceDir.remove);
    const relay = await relayAt(relayData.dir);
    const alice = await device(relay, { folder: deviceDir.dir });
    const order = await completeOrder(alice, "sealed");
    await alice.sync.now();
    await submitted(alice, relay, order.id);
    const submissions = JSON.parse(JSON.stringify((await alice.ledger.get()).submissions));
    const [requestId, outcome] = Object.entries(submissions)[0] as [
      string,
      Record<string, unknown>,
    ];
    expect(outcome.seal).toMatchObject({ owner: "alice", sequence: 1, mac: expect.any(String) });

    const post = async (body: unknown, org = "acme") => {
      const token = await relay.mintToken({ sub: "alice", org, roles: ["rep"], offline: true });
      const res = await fetch(`${relay.httpUrl}/v1/restore/receipts`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    };
    // The relay has it: known, nothing changes.
    expect(await post({ submissions })).toMatchObject({
      status: 200,
      body: { learned: 0, known: 1, refused: 0, conflicts: 0 },
    });
    // A forged number, a forged request id, no seal, a seal for another organization: refused.
    const forged = {
      [requestId]: { ...outcome, orderNumber: "SO-999999" },
      other: outcome,
      unsealed: { ...outcome, seal: undefined },
    };
    expect(await post({ submissions: forged })).toMatchObject({
      status: 200,
      body: { learned: 0, known: 0, refused: 3 },
    });
    expect(await post({ submissions }, "globex")).toMatchObject({
      status: 200,
      body: { learned: 0, refused: 1 },
    });
    const sequence = { ...outcome, seal: { ...(outcome.seal as object), sequence: 999_999 } };
    expect(await post({ submissions: { [requestId]: sequence } })).toMatchObject({
      body: { refused: 1 },
    });
    expect((await post({ submissions: [] })).status).toBe(400);
    const metrics = await (await fetch(`${relay.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/oms_relay_restore_receipts_total\{result="refused"\} 5/);
    // The next order still gets the next number: nothing forged moved the sequence.
    const next = await completeOrder(alice, "next");
    await alice.sync.now();
    expect(await submitted(alice, relay, next.id)).toBe("SO-000002");
  });
});
