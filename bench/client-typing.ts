// `node --expose-gc --import tsx bench/client-typing.ts --n 10000 [--storage memory|folder]`:
// what a rep feels on a device holding N orders in "My": a one-field edit of a 50-line order, a
// checked change adding 20 lines, creating a quote, opening a document, listing "My". One size
// per process (heap figures stay apart). The device is offline (its relay stopped after a first
// sync), so no sync traffic runs beside the measurements. Prints one JSON line.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as A from "@automerge/automerge";
import {
  generateAutomergeUrl,
  parseAutomergeUrl,
  type StorageAdapterInterface,
} from "@automerge/automerge-repo";
import { FileStorageAdapter } from "../src/adapters/storage-file.js";
import { MemoryStorageAdapter } from "../src/adapters/storage-memory.js";
import { PrefixedStorageAdapter } from "../src/adapters/storage-prefixed.js";
import { createClient, type OmsClient } from "../src/client/index.js";
import {
  addLineItem,
  addToMy,
  asDocId,
  asOrganizationId,
  asUserId,
  createOrder,
  type LineItemId,
  type Order,
  setHeader,
  updateLineItem,
  type Workspace,
} from "../src/docs/index.js";
import { createRelay } from "../src/relay/index.js";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "10" },
    storage: { type: "string", default: "memory" },
    samples: { type: "string", default: "200" },
    // Which measurements to run, e.g. `--phases typing` (all by default).
    phases: { type: "string", default: "open,rows,typing" },
  },
});
const n = Number(values.n);
const samples = Number(values.samples);
const phases = new Set(values.phases.split(","));
const SECRET = "bench-secret-bench-secret-bench-secret-0123";
const owner = asUserId("alice");
const organization = asOrganizationId("acme");
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
const summary = (xs: number[]) => ({
  p50: +percentile(xs, 50).toFixed(3),
  p99: +percentile(xs, 99).toFixed(3),
  max: +Math.max(...xs).toFixed(3),
  samples: xs.length,
});
/** Wall and CPU milliseconds of one operation (CPU time is what the load of a shared machine does not inflate). */
async function timed(fn: () => unknown, into: { wall: number[]; cpu: number[] }): Promise<void> {
  const c = process.cpuUsage();
  const t = performance.now();
  await fn();
  into.wall.push(performance.now() - t);
  const d = process.cpuUsage(c);
  into.cpu.push((d.user + d.system) / 1000);
}
const samplesOf = () => ({ wall: [] as number[], cpu: [] as number[] });
const both = (s: { wall: number[]; cpu: number[] }) => ({
  wall: summary(s.wall),
  cpu: summary(s.cpu),
});
const heapMb = () => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

/** An order of `lines` line items, saved whole. */
function order(i: number, lines: number): Uint8Array {
  const doc = A.change(
    A.from(
      createOrder({ owner, organization, currency: "USD", now: 1_700_000_000_000 + i }) as never,
    ),
    (o: Order) => {
      setHeader(o, {
        customer: { name: `Customer ${i}`, contact: "555-0100" },
        projectName: `Project ${i}`,
      });
      for (let l = 0; l < lines; l++)
        addLineItem(o, {
          productCode: `DH-${3000 + l}`,
          description: "Double hung window",
          options: { color: "white", glazing: "double" },
          quantity: 1 + (l % 5),
          unitPrice: 45_900 + l * 100,
        });
    },
  );
  return A.save(doc);
}

const newId = () => parseAutomergeUrl(generateAutomergeUrl()).documentId as string;
const idOf = (u: string) =>
  u.startsWith("automerge:") ? (u.slice(10).split("#")[0] as string) : u;

async function merged(device: StorageAdapterInterface, id: string): Promise<Uint8Array> {
  const chunks = [
    ...(await device.loadRange([id, "snapshot"])),
    ...(await device.loadRange([id, "incremental"])),
  ];
  const out = new Uint8Array(chunks.reduce((s, c) => s + (c.data?.length ?? 0), 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c.data as Uint8Array, at);
    at += (c.data as Uint8Array).length;
  }
  return out;
}

/**
 * A device of alice's with N orders of 20 lines in "My" (plus one of 50 lines to edit), written
 * straight into her partition after one real first sync gave it a session and a workspace.
 */
async function seedDevice(): Promise<{
  url: string;
  token: string;
  storage: StorageAdapterInterface;
  ids: string[];
  big: string;
  cleanup: () => void;
}> {
  const work = mkdtempSync(join(tmpdir(), "oms-bench-typing-"));
  const relay = await createRelay({
    port: 0,
    dataDir: join(work, "relay"),
    secret: SECRET,
    logLevel: "silent",
  });
  const token = await relay.mintToken({ sub: "alice", org: "acme", roles: ["rep"], offline: true });
  const storage: StorageAdapterInterface =
    values.storage === "folder"
      ? new FileStorageAdapter(join(work, "device"))
      : new MemoryStorageAdapter();
  const first = await createClient({ url: relay.url, token, storage });
  await first.sync.now();
  await first.close();
  const url = relay.url;
  await relay.close();

  const device = new PrefixedStorageAdapter(storage, ["oms-partition", "acme", "alice"]);
  const session = JSON.parse(
    new TextDecoder().decode(await device.load(["oms-sync", "session"])),
  ) as {
    documents: { workspace: string };
  };
  const workspaceId = idOf(session.documents.workspace);
  const templates = Array.from({ length: 50 }, (_, i) => order(i, 20));
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = newId();
    await device.save([id, "snapshot", `seed${i % 50}`], templates[i % 50] as Uint8Array);
    ids.push(id);
  }
  const big = newId();
  await device.save([big, "snapshot", "seed-big"], order(99_999, 50));
  let workspace = A.load<Workspace>(await merged(device, workspaceId));
  workspace = A.change(workspace, (w) => {
    for (const id of [...ids, big]) addToMy(w, asDocId(id), "order", 1_700_000_000_000);
  });
  await device.removeRange([workspaceId, "snapshot"]);
  await device.removeRange([workspaceId, "incremental"]);
  await device.save([workspaceId, "snapshot", "seeded"], A.save(workspace));
  return {
    url,
    token,
    storage,
    ids,
    big,
    cleanup: () => rmSync(work, { recursive: true, force: true }),
  };
}

async function start(d: {
  url: string;
  token: string;
  storage: StorageAdapterInterface;
}): Promise<OmsClient> {
  // The relay is gone: the client starts offline from the device, as a rep on the road.
  return createClient({
    url: d.url,
    token: d.token,
    storage: d.storage,
    schedule: { backoffInitialMs: 60_000, backoffMaxMs: 60_000 },
  });
}

const result: Record<string, unknown> = { n, storage: values.storage };
// Each phase's figures go to stderr as they come: a run stopped half way still tells something.
const progress = (what: string) =>
  process.stderr.write(`client-typing n=${n}: ${what} ${JSON.stringify(result)}\n`);
// The set-up's own cost, so that a slow run says where its minutes went (not a measurement).
const setupCpu = process.cpuUsage();
const setupStart = performance.now();
const seeded = await seedDevice();
const setupUsage = process.cpuUsage(setupCpu);
result.setup = {
  wallMs: Math.round(performance.now() - setupStart),
  cpuMs: Math.round((setupUsage.user + setupUsage.system) / 1000),
};
progress("seeded");

// Opening one document from the device, the first time each (a fresh client).
if (phases.has("open")) {
  const client = await start(seeded);
  const opens = samplesOf();
  await client.orders.open(seeded.big); // loads the workspace once; not counted
  for (let i = 0; i < Math.min(samples, n); i++) {
    const id = seeded.ids[Math.floor((i * n) / Math.min(samples, n))] as string;
    await timed(() => client.orders.open(id), opens);
  }
  result.open = both(opens);
  progress("opened");
  await client.close();
}

// Listing "My": rows() on a fresh client (index missing: rebuilt), then again on a fresh client
// (index stored), then warm; list() (every document opened) for comparison.
if (phases.has("rows")) {
  const rowsOf = (c: OmsClient) => (c.orders as { rows?: () => Promise<unknown[]> }).rows;
  const client = await start(seeded);
  if (rowsOf(client)) {
    let before = heapMb();
    let t = performance.now();
    let rows = await client.orders.rows();
    result.rowsRebuild = { ms: +(performance.now() - t).toFixed(1), rows: rows.length };
    await client.flush();
    await client.close();
    const again = await start(seeded);
    before = heapMb();
    t = performance.now();
    rows = await again.orders.rows();
    const ms = performance.now() - t;
    result.rowsCold = {
      ms: +ms.toFixed(1),
      heapMb: +(heapMb() - before).toFixed(1),
      rows: rows.length,
    };
    t = performance.now();
    rows = await again.orders.rows();
    result.rowsWarm = { ms: +(performance.now() - t).toFixed(1) };
    await again.close();
    progress("listed");
  } else await client.close();
  // list() opens every document (45 KB of heap each): minutes at 10,000, so measured up to 1,000.
  if (n <= 1_000) {
    const listing = await start(seeded);
    const before = heapMb();
    const t = performance.now();
    const listed = await listing.orders.list();
    const ms = performance.now() - t;
    result.list = {
      ms: +ms.toFixed(1),
      heapMb: +(heapMb() - before).toFixed(1),
      rows: listed.length,
    };
    await listing.close();
  }
}

// Listing "My" as a bulk first sync with rows leaves the device (`--phases rowsbulk`): a row
// record per document, written with the documents; then rows() on a fresh client that has the
// list of My ids, and on one without it (reading the workspace instead), each cold, then warm.
if (phases.has("rowsbulk")) {
  const { rowRecord } = await import("../src/client/my-rows.js");
  const { deriveRow } = await import("../src/docs/catalogue-row.js");
  const { documentMeta } = await import("../src/docs/kinds.js");
  const device = new PrefixedStorageAdapter(seeded.storage, ["oms-partition", "acme", "alice"]);
  const rowOf = new Map<string, { heads: string[]; row: unknown }>();
  for (const id of [...seeded.ids, seeded.big]) {
    const bytes = await merged(device, id);
    // The seeded orders are copies of 50: each derived once.
    const same = Buffer.from(bytes).toString("base64");
    let known = rowOf.get(same);
    if (!known) {
      const doc = A.load(bytes);
      known = { heads: A.getHeads(doc), row: deriveRow(documentMeta(doc) as never, doc) };
      rowOf.set(same, known);
    }
    const record = rowRecord(id, known.heads, known.row as never);
    await device.save(record.key, record.data);
  }
  // A client that saw the workspace once keeps the list of My ids (as after a first sync).
  const first = await start(seeded);
  await first.orders.open(seeded.big);
  await first.close();
  const cold = async (what: string) => {
    const c = await start(seeded);
    const before = heapMb();
    const cpu = process.cpuUsage();
    let t = performance.now();
    const rows = await c.orders.rows();
    const ms = performance.now() - t;
    const d = process.cpuUsage(cpu);
    result[what] = {
      ms: +ms.toFixed(1),
      cpuMs: +((d.user + d.system) / 1000).toFixed(1),
      heapMb: +(heapMb() - before).toFixed(1),
      rows: rows.length,
    };
    t = performance.now();
    await c.orders.rows();
    result[`${what}Warm`] = { ms: +(performance.now() - t).toFixed(1) };
    await c.close();
  };
  await cold("rowsBulkCold");
  await device.remove(["oms-sync", "my"]);
  await cold("rowsBulkColdNoMyList");
  progress("listed after a bulk sync");
}

// Typing: one-field edits of the 50-line order through the client (validation included), a
// checked change adding 20 lines, creating quotes.
if (phases.has("typing")) {
  const client = await start(seeded);
  const handle = await client.orders.open(seeded.big);
  const lineIds = Object.keys(handle.doc().lineItems) as LineItemId[];
  for (let i = 0; i < 20; i++) handle.change((o) => setHeader(o, { projectName: `Warm ${i}` }));
  await client.flush();
  const edits = samplesOf();
  const stored = samplesOf();
  for (let i = 0; i < samples; i++) {
    const edit = () =>
      i % 2 === 0
        ? handle.change((o) => setHeader(o, { projectName: `Project edit ${i}` }))
        : handle.change((o) =>
            updateLineItem(o, lineIds[i % lineIds.length] as LineItemId, { quantity: 1 + (i % 7) }),
          );
    // The call a keystroke waits for, then the same edit until it is stored on the device.
    await timed(edit, edits);
    await timed(() => client.flush(), stored);
  }
  result.edit = both(edits);
  progress("edited");
  result.editStore = both(stored);
  // A checked change adding 20 lines, to a fresh 50-line order each time.
  const adds = samplesOf();
  for (let i = 0; i < 20; i++) {
    const target = await client.orders.open(seeded.ids[i % Math.min(n, 10)] as string);
    await timed(
      () =>
        target.change((o) => {
          for (let l = 0; l < 20; l++)
            addLineItem(o, { productCode: `ADD-${i}-${l}`, quantity: 1, unitPrice: 1_000 });
        }),
      adds,
    );
    await client.flush();
  }
  result.add20Lines = both(adds);
  progress("added lines");
  // The same 20 lines through addLineItems (one read of the existing lines), where it exists.
  const docs = (await import("../src/docs/index.js")) as unknown as {
    addLineItems?: (doc: Order, inputs: Parameters<typeof addLineItem>[1][]) => unknown;
  };
  const addMany = docs.addLineItems;
  if (addMany) {
    const batched = samplesOf();
    for (let i = 0; i < 20; i++) {
      const target = await client.orders.open(seeded.ids[10 + (i % Math.min(n, 10))] ?? seeded.big);
      const lines = Array.from({ length: 20 }, (_, l) => ({
        productCode: `BATCH-${i}-${l}`,
        quantity: 1,
        unitPrice: 1_000,
      }));
      await timed(() => target.change((o) => addMany(o, lines)), batched);
      await client.flush();
    }
    result.add20LinesBatched = both(batched);
  }
  const creates = samplesOf();
  for (let i = 0; i < Math.min(samples, 100); i++)
    await timed(() => client.quotes.create({ currency: "USD", projectName: `New ${i}` }), creates);
  result.createQuote = both(creates);
  await client.close();
}

seeded.cleanup();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
