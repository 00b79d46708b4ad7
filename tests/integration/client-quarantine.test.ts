import * as A from "@automerge/automerge";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryStorageAdapter } from "../../src/adapters/storage-memory.js";
import { DeviceStore } from "../../src/client/device-store.js";
import {
  createClient,
  type OmsClient,
  type QuarantineEntry,
  type QuarantineExport,
} from "../../src/client/index.js";
import { Quarantine } from "../../src/client/quarantine.js";
import type { FieldRule } from "../../src/policy/index.js";
import type { Relay } from "../../src/relay/index.js";
import { relayDoc, startRelay, tempDir, waitFor } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function relayAt(dir: string, port = 0, fieldRules?: FieldRule[]): Promise<Relay> {
  const relay = await startRelay(dir, { port, ...(fieldRules ? { fieldRules } : {}) });
  cleanups.push(() => relay.close());
  return relay;
}

async function client(
  relay: Relay,
  sub: string,
  storage: Parameters<typeof createClient>[0]["storage"] = "memory",
): Promise<OmsClient> {
  const c = await createClient({
    url: relay.url,
    token: await relay.mintToken({ sub, org: "acme", roles: ["rep"], offline: true }),
    storage,
    schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
  });
  cleanups.push(() => c.close());
  return c;
}

describe("a document reassigned while its rep was offline", () => {
  it("keeps the refused edits in a quarantine that survives restarts, tells why, and drops the document from My", async () => {
    const relayData = tempDir();
    const device = tempDir();
    cleanups.push(relayData.remove, device.remove);
    let relay = await relayAt(relayData.dir);
    const port = relay.port;
    const alice = await client(relay, "alice", { folder: device.dir });
    const quote = await alice.quotes.create({ currency: "USD", projectName: "Lake house" });
    await alice.sync.now();
    await alice.close();
    await relay.close();

    // Offline: Alice edits the quote on her device.
    const offline = await createClient({
      url: relay.url,
      token: await relay.mintToken({ sub: "alice", org: "acme", roles: ["rep"], offline: true }),
      storage: { folder: device.dir },
    });
    const reopened = await offline.quotes.open(quote.id);
    reopened.change((q) => {
      q.projectName = "Lake house, second floor";
      q.notes = "call before delivery";
    });
    await offline.close();

    // Meanwhile an admin gives the quote to Bob.
    relay = await relayAt(relayData.dir, port);
    await relay.admin.reassign(quote.id, "bob", "territory change");

    const back = await client(relay, "alice", { folder: device.dir });
    const told: QuarantineEntry[][] = [];
    back.quarantine.subscribe((entries) => told.push(entries));
    await back.sync.now();
    expect(back.sync.status).toMatchObject({ state: "complete", quarantined: 1 });
    const [entry] = await back.quarantine.list();
    expect(entry).toMatchObject({
      documentId: quote.id,
      kind: "quote",
      accessLost: true,
      reasons: [{ code: "ACCESS_REVOKED", message: expect.stringMatching(/territory change/) }],
    });
    expect(entry?.unsyncedChanges).toHaveLength(1);
    expect(told.at(-1)?.map((e) => e.documentId)).toEqual([quote.id]);
    expect(await back.quotes.list()).toEqual([]);

    // The relay has none of it; Bob has the quote, without Alice's offline edit.
    expect(relayDoc<{ projectName: string }>(relay, quote.id).projectName).toBe("Lake house");
    const bob = await client(relay, "bob");
    await bob.sync.now();
    expect((await bob.quotes.list()).map((q) => q.doc.projectName)).toEqual(["Lake house"]);

    // The export carries the document as Alice had it, and changes that apply on Bob's version.
    const exported = JSON.parse(await back.quarantine.export(quote.id)) as QuarantineExport;
    expect(exported.format).toBe("oms-sync/quarantine@1");
    expect(exported.document).toMatchObject({
      projectName: "Lake house, second floor",
      notes: "call before delivery",
    });
    const bobs = A.clone(relayDoc<A.Doc<{ projectName: string }>>(relay, quote.id));
    const [merged] = A.applyChanges(
      bobs,
      exported.changes.map((c) => new Uint8Array(Buffer.from(c, "base64"))),
    );
    expect(merged.projectName).toBe("Lake house, second floor");
    await back.close();

    // Nothing is lost across a restart; the document does not come back.
    const again = await client(relay, "alice", { folder: device.dir });
    expect((await again.quarantine.list()).map((e) => e.documentId)).toEqual([quote.id]);
    expect(again.sync.status.quarantined).toBe(1);
    await again.sync.now();
    expect(await again.quotes.list()).toEqual([]);
    await expect(again.quarantine.export("nope")).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(await again.quarantine.discard(quote.id)).toBe(true);
    expect(await again.quarantine.list()).toEqual([]);
    expect(again.sync.status.quarantined).toBe(0);
  });

  it("drops without a quarantine entry a reassigned document that had no unsynced edits", async () => {
    const relayData = tempDir();
    cleanups.push(relayData.remove);
    const relay = await relayAt(relayData.dir);
    const alice = await client(relay, "alice");
    const quote = await alice.quotes.create({ currency: "USD", projectName: "kept clean" });
    await alice.sync.now();
    await relay.admin.reassign(quote.id, "bob");
    await waitFor(async () => (await alice.quotes.list()).length === 0, "the quote to leave My");
    await alice.sync.now();
    expect(await alice.quarantine.list()).toEqual([]);
    expect(alice.sync.status).toMatchObject({ state: "complete", quarantined: 0 });
  });
});

describe("a write the relay's rules refuse", () => {
  it("is quarantined and the document returns to the relay's version, still in My", async () => {
    const relayData = tempDir();
    cleanups.push(relayData.remove);
    // A rule the client does not know: the relay is the backstop.
    const noRush: FieldRule = ({ after }) =>
      (after as { notes?: string }).notes?.includes("RUSH")
        ? [
            {
              code: "FIELD_NOT_ALLOWED",
              path: ["notes"],
              message: "rush orders go through the desk",
            },
          ]
        : [];
    const relay = await relayAt(relayData.dir, 0, [noRush]);
    const alice = await client(relay, "alice");
    const quote = await alice.quotes.create({ currency: "USD", projectName: "Barn" });
    await alice.sync.now();
    quote.change((q) => {
      q.notes = "RUSH please";
    });
    await waitFor(() => alice.sync.status.quarantined === 1, "the quarantine");
    const [entry] = await alice.quarantine.list();
    expect(entry).toMatchObject({
      accessLost: false,
      reasons: [{ code: "FIELD_NOT_ALLOWED", message: "rush orders go through the desk" }],
    });
    await alice.sync.now();
    const listed = await alice.quotes.list();
    expect(listed.map((q) => [q.id, q.doc.projectName, q.doc.notes ?? null])).toEqual([
      [quote.id, "Barn", ""],
    ]);
    expect(relayDoc<{ notes?: string }>(relay, quote.id).notes).toBe("");
  });
});

describe("a refused change that Automerge cannot decode", () => {
  it("is quarantined all the same: its bytes kept, its fields null, the reason given", async () => {
    // An integer past 2^53 applies and saves, but decodeChange cannot turn it into a number.
    let doc = A.from<Record<string, unknown>>({ kind: "quote", projectName: "Lake house" });
    const relayHeads = A.getHeads(doc);
    const relayCopy = A.clone(doc);
    doc = A.change(doc, (d) => {
      d.projectName = "Lake house, second floor";
    });
    doc = A.change(doc, (d) => {
      d.reference = 2 ** 60;
    });
    const refused = A.getAllChanges(doc).slice(-2);
    expect(() => A.decodeChange(refused[1] as A.Change)).toThrow(/can't be represented/);

    const store = new DeviceStore(new MemoryStorageAdapter());
    const entry = await new Quarantine(store).add({
      documentId: "quote-1",
      doc,
      reasons: [{ code: "FORBIDDEN", message: "not yours any more" }],
      accessLost: true,
      relayHeads,
      now: 1,
    });
    expect(entry?.unsyncedChanges).toEqual([
      expect.objectContaining({ message: null, hash: expect.any(String) }),
      expect.objectContaining({
        hash: null,
        undecodable: expect.stringMatching(/can't be represented/),
      }),
    ]);
    // Kept on the device: a new quarantine over the same storage exports the exact bytes.
    const exported = await new Quarantine(store).export("quote-1");
    expect(exported?.changes).toEqual(refused.map((c) => Buffer.from(c).toString("base64")));
    // The relay's version plus the exported changes is the device's copy again.
    const [restored] = A.applyChanges(
      relayCopy,
      (exported?.changes ?? []).map((c) => new Uint8Array(Buffer.from(c, "base64"))),
    );
    expect(A.getHeads(restored)).toEqual(A.getHeads(doc));
  });
});
