import { cbor } from "@automerge/automerge-repo";
import type { StorageKey } from "@automerge/automerge-repo/slim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryStorageAdapter } from "../../src/adapters/storage-memory.js";
import { createClient, type MyRow, type OmsClient } from "../../src/client/index.js";
import { addLineItem, setHeader } from "../../src/docs/index.js";
import type { Relay } from "../../src/relay/index.js";
import { startRelay, tempDir } from "./helpers.js";

// A bulk first sync brings each document's catalogue row with its bytes, so the first listing of
// "My" on a new device reads rows and loads no document; a row the relay cannot vouch for at the
// bytes' heads is not sent, and an older relay's answer without rows still lists right.

/** A device that notes which documents' chunks were read. */
class CountingStorage extends MemoryStorageAdapter {
  readonly read = new Set<string>();
  watched = new Set<string>();
  #note(key: StorageKey): void {
    const at = key.findIndex((part) => this.watched.has(part));
    const part = key[at + 1];
    if (at >= 0 && (part === undefined || part === "snapshot" || part === "incremental"))
      this.read.add(key[at] as string);
  }
  override async load(key: StorageKey) {
    this.#note(key);
    return super.load(key);
  }
  override async loadRange(prefix: StorageKey) {
    this.#note(prefix);
    return super.loadRange(prefix);
  }
}

/** The relay's bulk answers without rows, as a relay before this field answers. */
const withoutRows: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  if (!String(input).endsWith("/v1/sync/bulk") || !response.ok) return response;
  const answer = cbor.decode(new Uint8Array(await response.arrayBuffer())) as {
    docs: { row?: unknown }[];
  };
  for (const doc of answer.docs) delete doc.row;
  return new Response(new Uint8Array(cbor.encode(answer)), { status: 200 });
};

const data = tempDir();
let relay: Relay;
let token: string;
const ids: Record<"quote" | "draft" | "submitted", string> = {
  quote: "",
  draft: "",
  submitted: "",
};
let expected: { quotes: MyRow[]; orders: MyRow[] };
const clients: OmsClient[] = [];

async function device(
  storage: MemoryStorageAdapter,
  more: { fetch?: typeof fetch } = {},
): Promise<OmsClient> {
  const c = await createClient({
    url: relay.url,
    token,
    storage,
    schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
    ...more,
  });
  clients.push(c);
  return c;
}

/** A new device's first sync, then what its first listing read of the documents. */
async function firstListing(more: { fetch?: typeof fetch } = {}) {
  const storage = new CountingStorage();
  const c = await device(storage, more);
  await c.sync.now();
  expect(c.sync.status).toMatchObject({ state: "complete" });
  storage.watched = new Set(Object.values(ids));
  const listed = { quotes: await c.quotes.rows(), orders: await c.orders.rows() };
  return { listed, read: [...storage.read].sort() };
}

beforeAll(async () => {
  let r = await startRelay(data.dir);
  token = await r.mintToken({ sub: "alice", org: "acme", roles: ["rep"], offline: true });
  relay = r;
  const a = await device(new MemoryStorageAdapter());
  const quote = await a.quotes.create({
    currency: "USD",
    customer: { name: "Hansen Homes" },
    projectName: "Lake house",
  });
  quote.change((q) => addLineItem(q, { productCode: "DH-3046", quantity: 2, unitPrice: 45_900 }));
  const draft = await a.orders.create({ currency: "EUR", projectName: "Barn" });
  draft.change((o) => addLineItem(o, { productCode: "W-1", quantity: 3, unitPrice: 1_000 }));
  const submitted = await a.orders.create({
    currency: "EUR",
    customer: { name: "Birch & Sons" },
    projectName: "Shed",
  });
  submitted.change((o) => addLineItem(o, { productCode: "W-2", quantity: 1, unitPrice: 500 }));
  await a.orders.submit(submitted.id);
  await a.sync.now();
  await r.processed();
  await a.sync.now();
  ids.quote = quote.id;
  ids.draft = draft.id;
  ids.submitted = submitted.id;
  expected = { quotes: await a.quotes.rows(), orders: await a.orders.rows() };
  expect(expected.orders.find((row) => row.id === submitted.id)).toMatchObject({
    state: "submitted",
    orderNumber: "SO-000001",
  });
  await a.close();
  // A restart unmarks every document whose row is written (a quiet relay keeps the marks of
  // documents edited in the last seconds, and sends no row for them).
  await r.close();
  r = await startRelay(data.dir);
  relay = r;
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await relay?.close();
  data.remove();
});

describe("a bulk first sync with rows", () => {
  it("sends each document's row with its bytes", async () => {
    const response = await fetch(`${relay.httpUrl}/v1/sync/bulk`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ ids: Object.values(ids) }),
    });
    const answer = cbor.decode(new Uint8Array(await response.arrayBuffer())) as {
      docs: { id: string; row?: Record<string, unknown> }[];
    };
    const rows = new Map(answer.docs.map((d) => [d.id, d.row]));
    expect(rows.get(ids.quote)).toMatchObject({
      kind: "quote",
      customer: "Hansen Homes",
      totalMinor: 91_800,
      lineCount: 1,
    });
    expect(rows.get(ids.submitted)).toMatchObject({ kind: "order", requestCount: 1 });
  });

  it("lists My on the new device from the rows, loading no document", async () => {
    const { listed, read } = await firstListing();
    expect(listed).toEqual(expected);
    expect(read).toEqual([]);
  }, 60_000);

  it("lists right from an answer without rows (an older relay), deriving them from the bytes", async () => {
    const { listed, read } = await firstListing({ fetch: withoutRows });
    expect(listed).toEqual(expected);
    expect(read).toEqual(Object.values(ids).sort());
  }, 60_000);

  it("does not send a row behind the stored bytes: the device derives it", async () => {
    const editor = await device(new MemoryStorageAdapter());
    await editor.sync.now();
    const draft = await editor.orders.open(ids.draft);
    draft.change((o) => setHeader(o, { projectName: "Barn, phase 2" }));
    await editor.sync.now();
    const { listed, read } = await firstListing();
    expect(listed.orders.find((row) => row.id === ids.draft)).toMatchObject({
      project: "Barn, phase 2",
    });
    expect(listed.quotes).toEqual(expected.quotes);
    // The others came with their rows.
    expect(read).not.toContain(ids.quote);
    expect(read).not.toContain(ids.submitted);
  }, 60_000);
});
