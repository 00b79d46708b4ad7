// One measurement in its own process: prints a JSON line with time, wire bytes and peak RSS.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type DocHandle, type DocumentId, type PeerId, Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs";
import WebSocket from "ws";
import { createClient } from "../src/client/index.js";

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
  const repo = new Repo({
    network: [new WebSocketClientAdapter(values.url as string, 1000)],
    ...(values.storage ? { storage: new NodeFSStorageAdapter(values.storage) } : {}),
  });
  await new Promise<void>((r) => repo.networkSubsystem.once("peer", () => r()));
  const start = performance.now();
  const handles: DocHandle<unknown>[] = [];
  for (let i = 0; i < ids.length; i += 200) {
    handles.push(...(await Promise.all(ids.slice(i, i + 200).map((id) => repo.find(id)))));
  }
  // Complete: the relay reported, for each document, the heads this device holds. Only the
  // documents not yet done are looked at, so the check does not compete with the sync.
  const relay = repo.peers[0] as PeerId;
  const pending = new Set(handles);
  while (pending.size > 0) {
    const storageId = repo.getStorageIdOfPeer(relay);
    for (const h of storageId ? pending : []) {
      const theirs = h.getSyncInfo(storageId as never)?.lastHeads;
      const mine = h.heads();
      if (theirs && theirs.length === mine.length && mine.every((x) => theirs.includes(x)))
        pending.delete(h);
      else break;
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 20));
  }
  const ms = performance.now() - start;
  if (values.storage) await repo.flush();
  report(ms, { documents: handles.length });
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
  const client = await createClient({
    url: values.url as string,
    token: values.token as string,
    storage: values.storage ? { folder: values.storage } : "memory",
  });
  const start = performance.now();
  await client.sync.now();
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

const modes: Record<string, () => Promise<void>> = { stock, oms, open };
await (
  modes[values.mode as string] ?? (() => Promise.reject(new Error(`unknown mode ${values.mode}`)))
)();
