import { afterEach, describe, expect, it } from "vitest";
import { createClient, type OmsClient, WriteRefusedError } from "../../src/client/index.js";
import { addLineItem, sortedLineItems } from "../../src/docs/index.js";
import type { Relay } from "../../src/relay/index.js";
import { startRelay, tempDir } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function relayAt(dir: string, port = 0): Promise<Relay> {
  const relay = await startRelay(dir, { port });
  cleanups.push(() => relay.close());
  return relay;
}

async function client(
  url: string,
  token: string,
  storage: Parameters<typeof createClient>[0]["storage"],
): Promise<OmsClient> {
  const c = await createClient({
    url,
    token,
    storage,
    schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
  });
  cleanups.push(() => c.close());
  return c;
}

describe("an offline user", () => {
  it("works with the relay down across restarts, then syncs everything to a second device", async () => {
    const relayData = tempDir();
    const deviceData = tempDir();
    cleanups.push(relayData.remove, deviceData.remove);
    let relay = await relayAt(relayData.dir);
    const port = relay.port;
    const url = relay.url;
    const token = await relay.mintToken({
      sub: "alice",
      org: "acme",
      roles: ["rep"],
      offline: true,
    });

    const first = await client(url, token, { folder: deviceData.dir });
    await first.sync.now();
    expect(first.sync.status.state).toBe("complete");
    await first.close();
    await relay.close();

    // Relay down: the client starts from its saved session and works.
    const second = await client(url, token, { folder: deviceData.dir });
    const quote = await second.quotes.create({
      currency: "USD",
      projectName: "Lake house",
      customer: { name: "Hansen" },
    });
    quote.change((q) => {
      addLineItem(q, { productCode: "DH-3046", quantity: 2, unitPrice: 45_900 });
      addLineItem(q, { productCode: "CA-2436", quantity: 1, unitPrice: 31_500 });
    });
    await expect(second.sync.now()).rejects.toMatchObject({ code: "OFFLINE" });
    await second.close();

    const third = await client(url, token, { folder: deviceData.dir });
    const listed = await third.quotes.list();
    expect(listed.map((q) => q.doc.projectName)).toEqual(["Lake house"]);
    const reopened = await third.quotes.open(quote.id);
    reopened.change((q) => {
      addLineItem(q, { productCode: "SL-6080", quantity: 1, unitPrice: 120_000 });
    });

    relay = await relayAt(relayData.dir, port);
    await third.sync.now();
    expect(third.sync.status).toMatchObject({ state: "complete", pendingDocuments: 0 });

    const otherDevice = await client(url, token, "memory");
    await otherDevice.sync.now();
    const seen = await otherDevice.quotes.list();
    expect(seen).toHaveLength(1);
    expect(sortedLineItems(seen[0]?.doc as never).map((l) => l.productCode)).toEqual([
      "DH-3046",
      "CA-2436",
      "SL-6080",
    ]);
  });
});

describe("client-side validation", () => {
  it("throws instead of writing what the relay would refuse", async () => {
    const data = tempDir();
    cleanups.push(data.remove);
    const relay = await relayAt(data.dir);
    const token = await relay.mintToken({
      sub: "alice",
      org: "acme",
      roles: ["rep"],
      offline: true,
    });
    const c = await client(relay.url, token, "memory");
    const quote = await c.quotes.create({ currency: "USD" });
    const heads = JSON.stringify(quote.doc());
    expect(() =>
      quote.change((q) => {
        q.owner = "bob" as never;
      }),
    ).toThrow(WriteRefusedError);
    expect(() =>
      quote.change((q) => addLineItem(q, { productCode: "X", quantity: -3, unitPrice: 1 })),
    ).toThrow(/quantity must be a positive whole number, got -3/);
    expect(JSON.stringify(quote.doc())).toBe(heads);
    await expect(c.quotes.create({ currency: "dollars" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
  });
});

describe("a refused change is undone in the document", () => {
  it("leaves nothing of it to store or sync: the next change syncs, and another device never sees it", async () => {
    const data = tempDir();
    cleanups.push(data.remove);
    const relay = await relayAt(data.dir);
    const token = await relay.mintToken({
      sub: "alice",
      org: "acme",
      roles: ["rep"],
      offline: true,
    });
    const c = await client(relay.url, token, "memory");
    const quote = await c.quotes.create({ currency: "USD", projectName: "Before" });
    expect(() =>
      quote.change((q) => {
        q.projectName = "Refused with the owner";
        q.owner = "bob" as never;
      }),
    ).toThrow(WriteRefusedError);
    expect(quote.doc()).toMatchObject({ projectName: "Before", owner: "alice" });
    quote.change((q) => {
      q.projectName = "After";
    });
    await c.sync.now();
    expect(c.sync.status).toMatchObject({ state: "complete", pendingDocuments: 0 });
    expect(await c.quarantine.list()).toEqual([]);

    const other = await client(relay.url, token, "memory");
    await other.sync.now();
    const seen = await other.quotes.open(quote.id);
    expect(seen.doc()).toMatchObject({ projectName: "After", owner: "alice" });
  });
});

describe("My documents from another device", () => {
  it("are kept on this device and open offline after a restart", async () => {
    const data = tempDir();
    const deviceB = tempDir();
    cleanups.push(data.remove, deviceB.remove);
    const relay = await relayAt(data.dir);
    const token = await relay.mintToken({
      sub: "alice",
      org: "acme",
      roles: ["rep"],
      offline: true,
    });
    const a = await client(relay.url, token, "memory");
    const quote = await a.quotes.create({ currency: "USD", projectName: "From device A" });
    await a.sync.now();

    const b = await client(relay.url, token, { folder: deviceB.dir });
    await b.sync.now();
    await b.close();
    await relay.close();

    const bAgain = await client(relay.url, token, { folder: deviceB.dir });
    expect((await bAgain.quotes.open(quote.id)).doc().projectName).toBe("From device A");
  });
});
