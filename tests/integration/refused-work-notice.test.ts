import { afterEach, describe, expect, it } from "vitest";
import { createClient, type OmsClient } from "../../src/client/index.js";
import type { Relay } from "../../src/relay/index.js";
import { startRelay, tempDir, waitFor } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function relayAt(dir: string, port = 0): Promise<Relay> {
  const relay = await startRelay(dir, { port });
  cleanups.push(() => relay.close());
  return relay;
}

async function client(relay: Relay, sub: string, folder: string): Promise<OmsClient> {
  const c = await createClient({
    url: relay.url,
    token: await relay.mintToken({ sub, org: "acme", roles: ["rep"], offline: true }),
    storage: { folder },
    schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
  });
  cleanups.push(() => c.close());
  return c;
}

describe("work the relay refuses after a reassignment", () => {
  it("is announced in the previous owner's inbox once, naming the document and the quarantine", async () => {
    const relayData = tempDir();
    const device = tempDir();
    cleanups.push(relayData.remove, device.remove);
    let relay = await relayAt(relayData.dir);
    const port = relay.port;
    const alice = await client(relay, "alice", device.dir);
    const quote = await alice.quotes.create({ currency: "USD", projectName: "Lake house" });
    await alice.sync.now();
    await alice.close();
    await relay.close();

    // Offline, Alice edits the quote; meanwhile an admin gives it to Bob.
    const offline = await createClient({
      url: relay.url,
      token: await relay.mintToken({ sub: "alice", org: "acme", roles: ["rep"], offline: true }),
      storage: { folder: device.dir },
    });
    (await offline.quotes.open(quote.id)).change((q) => {
      q.notes = "call before delivery";
    });
    await offline.close();
    relay = await relayAt(relayData.dir, port);
    const bobDevice = tempDir();
    cleanups.push(bobDevice.remove);
    await (await client(relay, "bob", bobDevice.dir)).sync.now(); // Bob becomes a known member.
    await relay.admin.reassign(quote.id, "bob", "territory change");
    // A retried reassignment posts nothing more.
    await relay.admin.reassign(quote.id, "bob", "territory change");

    const back = await client(relay, "alice", device.dir);
    await back.sync.now();
    expect(back.sync.status).toMatchObject({ state: "complete", quarantined: 1 });
    const messages = await waitFor(async () => {
      const all = await back.inbox.messages();
      return all.length >= 2 && all;
    }, "the reassignment and refusal messages");
    expect(messages.every((m) => m.ref?.id === quote.id && m.ref.kind === "quote")).toBe(true);
    expect(messages.map((m) => m.subject).sort()).toEqual([
      "Your changes to a quote were not stored",
      "Your quote was given to bob",
    ]);
    for (const m of messages) expect(m.body).toMatch(/quarantine/);
    await back.close();

    // The device offers its refused edits again on every start: no second refusal message.
    for (let i = 0; i < 2; i++) {
      const again = await client(relay, "alice", device.dir);
      await again.sync.now();
      expect(again.sync.status.quarantined).toBe(1);
      expect(await again.inbox.messages()).toHaveLength(2);
      await again.close();
    }
    await relay.close();
    relay = await relayAt(relayData.dir, port);
    const afterRestart = await client(relay, "alice", device.dir);
    await afterRestart.sync.now();
    expect(await afterRestart.inbox.messages()).toHaveLength(2);
  });
});
