// One measurement in its own process: prints a JSON line with time, wire bytes and peak RSS.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type DocumentId, Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs";
import WebSocket from "ws";
import { createClient } from "../src/client/index.js";
import { relayHoldsAll } from "./relay-heads.js";

// Count what crosses the wire, the same way for both clients (both use ws in Node).
const wire = { bytesSent: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0 };
const size = (d: unknown) =>
  (d as { byteLength?: number }).byteLength ?? (d as { length?: number }).length ?? 0;
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (this: WebSocket, data: unknown, ...rest: unknown[]) {
  wire.bytesSent += size(data);
  wire.messagesSent++;
  return (send as (...a: unknown[]) => void).call(this, data, ...rest);
} as typeof send;
const emit = WebSocket.prototype.emit;
WebSocket.prototype.emit = function (this: WebSocket, event: string | symbol, ...args: unknown[]) {
  if (event === "message") {
    wire.bytesReceived += size(args[0]);
    wire.messagesReceived++;
  }
  return emit.call(this, event, ...args);
};

// HTTP counts too (the oms client's session, digest and bulk requests).
const realFetch = globalThis.fetch;
globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
  const body = init?.body;
  wire.bytesSent += typeof body === "string" ? Buffer.byteLength(body) : size(body ?? "");
  wire.messagesSent++;
  const response = await realFetch(input, init);
  const bytes = new Uint8Array(await response.arrayBuffer());
  wire.bytesReceived += bytes.byteLength;
  wire.messagesReceived++;
  return new Response(bytes, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
};

const { values } = parseArgs({
  options: {
    mode: { type: "string" },
    url: { type: "string" },
    ids: { type: "string" },
    token: { type: "string" },
    storage: { type: "string" },
    id: { type: "string" },
    // Edit this many of the documents offline before connecting (scenario 3).
    edit: { type: "string" },
    // Only the first N ids (scenario 5).
    limit: { type: "string" },
    // Stock: how many `find` calls in flight (0: all at once). oms-sync decides its own.
    concurrency: { type: "string" },
    // Floor: the device folder whose bytes are written again, and how many documents it holds.
    like: { type: "string" },
    documents: { type: "string" },
  },
});

const readIds = () =>
  (JSON.parse(readFileSync(values.ids as string, "utf8")) as DocumentId[]).slice(
    0,
    values.limit ? Number(values.limit) : undefined,
  );
// Which documents to edit offline: a different slice each run, chosen by the clock.
function toEdit(ids: DocumentId[]): DocumentId[] {
  const count = Number(values.edit ?? 0);
  if (count === 0) return [];
  const start = Math.floor(Math.random() * Math.max(1, ids.length - count));
  return ids.slice(start, start + count);
}

function report(ms: number, extra: Record<string, unknown> = {}): void {
  process.stdout.write(
    `${JSON.stringify({ ms, ...wire, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024), ...extra })}\n`,
  );
  process.exit(0);
}

async function stock(): Promise<void> {
  const ids = readIds();
  const edits = toEdit(ids);
  if (edits.length > 0) {
    const offline = new Repo({ storage: new NodeFSStorageAdapter(values.storage as string) });
    for (const id of edits) {
      const handle = await offline.find<{ notes: string }>(id);
      handle.change((o) => {
        o.notes = `edited offline ${Date.now()}`;
      });
    }
    await offline.flush();
  }
  // The time includes setting up the Repo and its connection, as oms-sync's includes createClient.
  const start = performance.now();
  const repo = new Repo({
    network: [new WebSocketClientAdapter(values.url as string, 1000)],
    ...(values.storage ? { storage: new NodeFSStorageAdapter(values.storage) } : {}),
  });
  await new Promise<void>((r) => repo.networkSubsystem.once("peer", () => r()));
  const limit = Number(values.concurrency ?? 200) || ids.length;
  const handles = await pool(ids, limit, (id) => repo.find(id));
  await relayHoldsAll(repo, handles);
  // On a device with storage, done means written too (NodeFS writes files without an fsync).
  if (values.storage) await repo.flush();
  const ms = performance.now() - start;
  report(ms, { documents: handles.length, concurrency: limit });
}

async function oms(): Promise<void> {
  const edits = values.ids ? toEdit(readIds()) : [];
  if (edits.length > 0) {
    // No relay at this address: the client starts from its saved session, offline.
    const offline = await createClient({
      url: "ws://127.0.0.1:9",
      token: values.token as string,
      storage: { folder: values.storage as string },
    });
    for (const id of edits) {
      const order = await offline.orders.open(id);
      order.change((o) => {
        o.notes = `edited offline ${Date.now()}`;
      });
    }
    await offline.close();
  }
  // The time includes createClient (session, storage, connection), as a rep's start does.
  const start = performance.now();
  const client = await createClient({
    url: values.url as string,
    token: values.token as string,
    storage: values.storage ? { folder: values.storage } : "memory",
  });
  await client.sync.now();
  await client.flush();
  const ms = performance.now() - start;
  const documents = client.sync.status.progress.documentsTotal;
  await client.close();
  report(ms, { documents });
}

async function open(): Promise<void> {
  const client = await createClient({
    url: values.url as string,
    token: values.token as string,
    storage: values.storage ? { folder: values.storage } : "memory",
  });
  const start = performance.now();
  const order = await client.orders.open(values.id as string);
  const lines = Object.keys(order.doc().lineItems).length;
  const ms = performance.now() - start;
  await client.close();
  report(ms, { lines });
}

/** Runs `fn` over `items` with at most `limit` in flight; results in order. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * The floor of a durable cold sync: as many files as documents, holding as many bytes in all as
 * the device folder `--like` holds, written and each fsynced (32 at a time), then the folder
 * fsynced. No storage adapter can store the same bytes durably, one file per document, faster.
 */
async function floor(): Promise<void> {
  const { opendir, open: openFile, stat } = await import("node:fs/promises");
  const { join } = await import("node:path");
  let bytes = 0;
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of await opendir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else bytes += (await stat(path)).size;
    }
  };
  await walk(values.like as string);
  const n = Number(values.documents);
  const each = new Uint8Array(Math.ceil(bytes / n)).fill(7);
  const dir = values.storage as string;
  const start = performance.now();
  await pool(
    Array.from({ length: n }, (_, i) => i),
    32,
    async (i) => {
      const handle = await openFile(join(dir, `doc${i}`), "w");
      await handle.writeFile(each);
      await handle.sync();
      await handle.close();
    },
  );
  const folder = await openFile(dir, "r");
  await folder.sync();
  await folder.close();
  report(performance.now() - start, { deviceBytes: bytes, documents: n });
}

const modes: Record<string, () => Promise<void>> = { stock, oms, open, floor };
await (
  modes[values.mode as string] ?? (() => Promise.reject(new Error(`unknown mode ${values.mode}`)))
)();
