import { afterEach, describe, expect, it } from "vitest";
import { createClient, type OmsClient } from "../../src/client/index.js";
import type { Quote } from "../../src/docs/index.js";
import type { Relay } from "../../src/relay/index.js";
import { relayDoc, startRelay, tempDir } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Sync and request messages the relay received so far. */
async function documentMessages(relay: Relay): Promise<number> {
  const text = await (await fetch(`${relay.httpUrl}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/oms_relay_messages_in_total\{type="(sync|request)"\} (\d+)/g))
    total += Number(m[2]);
  return total;
}

async function open(
  relay: Relay,
  folder: string,
  sub = "alice",
  roles = ["rep"],
): Promise<OmsClient> {
  const c = await createClient({
    url: relay.url,
    token: await relay.mintToken({ sub, org: "acme", roles, offline: true }),
    storage: folder === "memory" ? "memory" : { folder },
  });
  cleanups.push(() => c.close());
  return c;
}

/** A relay, and alice on a first device folder; a second, empty device folder. */
async function twoDevices(): Promise<{ relay: Relay; alice: OmsClient; second: { dir: string } }> {
  const relayData = tempDir();
  const first = tempDir();
  const second = tempDir();
  cleanups.push(relayData.remove, first.remove, second.remove);
  const relay = await startRelay(relayData.dir);
  cleanups.push(() => relay.close());
  return { relay, alice: await open(relay, first.dir), second };
}

describe("a reconnect that changed nothing", () => {
  it("is settled by one digest exchange, not a sync per document; what changed on either side still syncs", async () => {
    const relayData = tempDir();
    const device = tempDir();
    cleanups.push(relayData.remove, device.remove);
    const relay = await startRelay(relayData.dir);
    cleanups.push(() => relay.close());
    let alice = await open(relay, device.dir);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++)
      ids.push((await alice.quotes.create({ currency: "USD", projectName: `Q${i}` })).id);
    await alice.sync.now();
    await alice.close();

    // Nothing changed: the run completes with a handful of document messages for 44 documents.
    alice = await open(relay, device.dir);
    const before = await documentMessages(relay);
    await alice.sync.now();
    expect(alice.sync.status).toMatchObject({
      state: "complete",
      progress: { documentsDone: 44, documentsTotal: 44 },
    });
    expect((await documentMessages(relay)) - before).toBeLessThan(10);
    await alice.close();

    // A manager edits one quote; Alice edits another offline: both reach their other side.
    const manager = await open(relay, "memory", "mona", ["manager"]);
    const managed = await manager.quotes.open(ids[3] as string);
    managed.change((q) => {
      q.notes = "checked by Mona";
    });
    await manager.sync.now();
    await manager.close();
    alice = await open(relay, device.dir);
    const mine = await alice.quotes.open(ids[7] as string);
    mine.change((q) => {
      q.projectName = "Q7, renamed";
    });
    await alice.sync.now();
    expect(relayDoc<Quote>(relay, ids[7] as string).projectName).toBe("Q7, renamed");
    expect((await alice.quotes.open(ids[3] as string)).doc().notes).toBe("checked by Mona");
  });

  it("a first sync brings the documents in bulk, written to the device without a sync per document", async () => {
    const { relay, alice, second } = await twoDevices();
    for (let i = 0; i < 40; i++) {
      const q = await alice.quotes.create({ currency: "USD", projectName: `Q${i}` });
      q.change((d) => {
        d.notes = `note ${i}`;
      });
    }
    await alice.sync.now();
    await alice.close();

    const before = await documentMessages(relay);
    const device = await open(relay, second.dir);
    await device.sync.now();
    expect(device.sync.status).toMatchObject({ state: "complete" });
    expect((await documentMessages(relay)) - before).toBeLessThan(15);
    await device.close();
    await relay.close();

    // With the relay gone, the second device has every quote.
    const offline = await createClient({
      url: relay.url,
      token: await relay.mintToken({ sub: "alice", org: "acme", roles: ["rep"], offline: true }),
      storage: { folder: second.dir },
    });
    cleanups.push(() => offline.close());
    const notes = (await offline.quotes.list()).map((q) => q.doc.notes).sort();
    expect(notes).toEqual(Array.from({ length: 40 }, (_, i) => `note ${i}`).sort());
  });

  it("opens documents a first sync wrote to the folder without a message each; a change still syncs, and a change on the relay arrives with the next run", async () => {
    const { relay, alice, second } = await twoDevices();
    const ids: string[] = [];
    for (let i = 0; i < 12; i++)
      ids.push((await alice.quotes.create({ currency: "USD", projectName: `Q${i}` })).id);
    await alice.sync.now();
    await alice.close();

    const device = await open(relay, second.dir);
    await device.sync.now();
    const before = await documentMessages(relay);
    for (const id of ids.slice(0, 10)) await device.quotes.open(id);
    // Whatever the opening would send has had time to arrive.
    await device.flush();
    await new Promise((r) => setTimeout(r, 300));
    expect((await documentMessages(relay)) - before).toBe(0);

    // A change here goes to the relay at once, as before.
    const mine = await device.quotes.open(ids[2] as string);
    mine.change((q) => {
      q.notes = "changed on the second device";
    });
    await device.sync.now();
    expect(relayDoc<Quote>(relay, ids[2] as string).notes).toBe("changed on the second device");

    // A manager's change to an opened, quiet quote arrives with the next run.
    const manager = await open(relay, "memory", "mona", ["manager"]);
    const managed = await manager.quotes.open(ids[5] as string);
    managed.change((q) => {
      q.notes = "checked by Mona";
    });
    await manager.sync.now();
    await device.sync.now();
    expect((await device.quotes.open(ids[5] as string)).doc().notes).toBe("checked by Mona");
  });
});
