import { generateAutomergeUrl } from "@automerge/automerge-repo";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryStorageAdapter } from "../../src/adapters/storage-memory.js";
import { createClient, type MyRow, type OmsClient } from "../../src/client/index.js";
import { addLineItem, OmsError, setHeader } from "../../src/docs/index.js";
import type { Relay } from "../../src/relay/index.js";
import { startRelay, tempDir, waitFor } from "./helpers.js";

// "My" rows: what a list view shows, read from a row index kept beside the documents, and kept
// up to date by local edits, changes from other devices and submission outcomes.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function relay(): Promise<Relay> {
  const data = tempDir();
  const r = await startRelay(data.dir);
  cleanups.push(data.remove, () => r.close());
  return r;
}

async function device(
  r: Relay,
  storage: MemoryStorageAdapter | "memory" = "memory",
  offline = true,
): Promise<OmsClient> {
  const c = await createClient({
    url: r.url,
    token: await r.mintToken({ sub: "alice", org: "acme", roles: ["rep"], offline }),
    storage,
    schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
  });
  cleanups.push(() => c.close());
  return c;
}

/** Rows a subscriber was told about, newest last. */
function heard(c: OmsClient, kind: "quotes" | "orders"): MyRow[][] {
  const calls: MyRow[][] = [];
  c[kind].subscribe((rows) => calls.push(rows));
  return calls;
}

describe("My rows", () => {
  it("lists what a list view needs, hears local, remote and ledger changes, and survives a restart", async () => {
    const r = await relay();
    const storage = new MemoryStorageAdapter();
    const a = await device(r, storage);
    const quoteCalls = heard(a, "quotes");
    const orderCalls = heard(a, "orders");

    const quote = await a.quotes.create({
      currency: "USD",
      customer: { name: "Hansen Homes" },
      projectName: "Lake house",
    });
    quote.change((q) => addLineItem(q, { productCode: "DH-3046", quantity: 2, unitPrice: 45_900 }));
    const order = await a.orders.create({
      currency: "EUR",
      customer: { name: "Birch & Sons" },
      projectName: "Barn",
    });
    order.change((o) => {
      addLineItem(o, { productCode: "W-1", quantity: 3, unitPrice: 1_000, discountBp: 1_000 });
      addLineItem(o, { productCode: "W-2", quantity: 1, unitPrice: 500 });
    });

    const [q] = await a.quotes.rows();
    expect(q).toMatchObject({
      id: quote.id,
      kind: "quote",
      organization: "acme",
      owner: "alice",
      customer: "Hansen Homes",
      project: "Lake house",
      currency: "USD",
      total: 91_800,
      lines: 1,
      state: null,
      orderNumber: null,
      revision: null,
    });
    expect(q?.createdAt).toBe(quote.doc().createdAt);
    expect(await a.orders.rows()).toEqual([
      expect.objectContaining({ id: order.id, total: 3_200, lines: 2, state: "draft" }),
    ]);
    // Each kind lists its own documents only.
    expect((await a.quotes.rows()).map((row) => row.id)).toEqual([quote.id]);

    // A local edit reaches the subscriber.
    quote.change((d) => setHeader(d, { projectName: "Lake house, phase 2" }));
    await waitFor(
      () => quoteCalls.at(-1)?.[0]?.project === "Lake house, phase 2",
      "the edited row to be heard",
    );
    expect(orderCalls.at(-1)?.map((row) => row.id)).toEqual([order.id]);

    // Another device of hers edits the quote and creates one: both arrive here.
    await a.sync.now();
    const b = await device(r);
    await b.sync.now();
    const there = await b.quotes.open(quote.id);
    there.change((d) => setHeader(d, { customer: { name: "Hansen & Daughters" } }));
    const second = await b.quotes.create({ currency: "USD", projectName: "Boathouse" });
    await b.sync.now();
    await a.sync.now();
    await waitFor(() => {
      const rows = quoteCalls.at(-1) ?? [];
      return (
        rows.length === 2 &&
        rows.some((row) => row.customer === "Hansen & Daughters") &&
        rows.some((row) => row.id === second.id)
      );
    }, "the other device's edit and new quote to be heard");

    // Submitted: the outcome in the ledger changes the order's row.
    await a.orders.submit(order.id);
    await a.sync.now();
    await r.processed();
    await a.sync.now();
    await waitFor(
      () => orderCalls.at(-1)?.[0]?.state === "submitted",
      "the accepted order to be heard",
    );
    expect((await a.orders.rows())[0]).toMatchObject({
      state: "submitted",
      orderNumber: "SO-000001",
      revision: 1,
    });
    const before = { quotes: await a.quotes.rows(), orders: await a.orders.rows() };
    await a.close();

    // The rows are stored beside the documents: a restart lists the same rows.
    const rowKeys = storage.keys().filter((k) => k.includes("oms-rows"));
    expect(rowKeys.length).toBe(3);
    const again = await device(r, storage);
    expect(await again.quotes.rows()).toEqual(before.quotes);
    expect(await again.orders.rows()).toEqual(before.orders);
    await again.close();

    // Rows lost (or written by an older version) are rebuilt from the stored documents.
    for (const key of rowKeys) await storage.remove(key);
    const rebuilt = await device(r, storage);
    expect(await rebuilt.quotes.rows()).toEqual(before.quotes);
    expect(await rebuilt.orders.rows()).toEqual(before.orders);
    await rebuilt.flush();
    expect(storage.keys().filter((k) => k.includes("oms-rows")).length).toBe(3);
  }, 90_000);

  it("works for online-only users (rows kept in memory) and hears their edits", async () => {
    const r = await relay();
    const c = await device(r, "memory", false);
    const calls = heard(c, "quotes");
    const quote = await c.quotes.create({ currency: "USD", projectName: "Online" });
    quote.change((q) => addLineItem(q, { productCode: "P", quantity: 1, unitPrice: 700 }));
    await waitFor(() => calls.at(-1)?.[0]?.total === 700, "the edit to be heard");
    expect(await c.quotes.rows()).toEqual([
      expect.objectContaining({ id: quote.id, project: "Online", total: 700, lines: 1 }),
    ]);
  });
});

describe("orders.state of an order that is not there", () => {
  it("is a NOT_FOUND OmsError that says what to do, for another kind's id, an unknown id and nonsense", async () => {
    const r = await relay();
    const c = await device(r);
    await c.sync.now();
    const quote = await c.quotes.create({ currency: "USD", projectName: "Not an order" });
    for (const id of [quote.id, generateAutomergeUrl(), "nonsense"]) {
      const error = await c.orders.state(id).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(OmsError);
      expect(error).toMatchObject({ code: "NOT_FOUND" });
      expect((error as Error).message).toMatch(/rows\(\)/);
    }
    await expect(c.orders.transmitted(quote.id)).rejects.toMatchObject({ code: "NOT_FOUND" });
    // The client goes on working.
    const order = await c.orders.create({ currency: "USD", projectName: "An order" });
    expect((await c.orders.state(order.id)).status).toBe("draft");
  });
});
