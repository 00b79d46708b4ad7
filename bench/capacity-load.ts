// The load process of bench/relay-capacity.ts, apart from the relay it loads. Reads commands on
// stdin, one JSON line each, and answers each with one JSON line:
// - {"connect": K}: opens idle connections until K are held (each joins as automerge-repo's
//   client does, then stays silent), answers {held, failed, ms};
// - {"edits": R, "seconds": S}: R edits a second, spread over orders each held by two devices of
//   one rep (each order edited every 500 ms at most, past automerge-repo's sync throttle); each
//   edit is timed until the other device sees it. Answers {rate, sent, arrived, p50, p99, max}.
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { cbor, type DocHandle, Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import WebSocket from "ws";
import { asOrganizationId, asUserId, createOrder, type Order } from "../src/docs/index.js";
import { mintToken } from "../src/relay/auth.js";
import { relayHolds } from "./relay-heads.js";

const { values } = parseArgs({
  options: { url: { type: "string" }, secret: { type: "string" } },
});
const url = values.url as string;
const secret = new TextEncoder().encode(values.secret as string);
/** The relay holds at most 50 connections per user (maxConnectionsPerUser): 40 each here. */
const PER_USER = 40;
const tokens = new Map<string, Promise<string>>();
const tokenOf = (user: string) => {
  let t = tokens.get(user);
  if (!t) {
    t = mintToken(secret, { sub: user, org: "acme", roles: ["rep"], offline: true, ttl: "1d" });
    tokens.set(user, t);
  }
  return t;
};

const idle: WebSocket[] = [];
let failed = 0;

/** One idle connection: open, join, wait for the relay's "peer", then silence. */
async function openIdle(i: number): Promise<void> {
  const token = await tokenOf(`idle${Math.floor(i / PER_USER)}`);
  const socket = new WebSocket(`${url}/?token=${token}`);
  socket.binaryType = "arraybuffer";
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.once("open", () => {
      socket.send(
        cbor.encode({
          type: "join",
          senderId: `idle-${i}-${Math.random().toString(36).slice(2)}`,
          peerMetadata: { isEphemeral: true },
          supportedProtocolVersions: ["1"],
        }),
      );
    });
    socket.once("message", () => resolve());
  });
  socket.on("error", () => undefined);
  idle.push(socket);
}

async function connect(target: number) {
  const start = performance.now();
  const todo: number[] = [];
  for (let i = idle.length + failed; i < target; i++) todo.push(i);
  // 100 handshakes in flight, as many clients starting at once would.
  let next = 0;
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      while (next < todo.length) {
        const i = todo[next++] as number;
        await openIdle(i).catch(() => {
          failed++;
        });
      }
    }),
  );
  return {
    held: idle.filter((s) => s.readyState === WebSocket.OPEN).length,
    failed,
    ms: performance.now() - start,
  };
}

interface Pair {
  writer: DocHandle<Order>;
  reader: DocHandle<Order>;
}
/** Orders being edited, each held by two devices of one rep. */
const pairs: Pair[] = [];
/** The rep's two devices; each pair of devices holds up to ORDERS_PER_DEVICE orders. */
const devices: { user: string; a: Repo; b: Repo }[] = [];
const ORDERS_PER_DEVICE = 10;
/** Each order is edited every this many ms at most (automerge-repo throttles a document's sync
 * messages to one per 100 ms on the device and again on the relay). */
const ORDER_INTERVAL_MS = 500;
const repos: Repo[] = [];

async function device(user: string): Promise<Repo> {
  const repo = new Repo({
    network: [new WebSocketClientAdapter(`${url}/?token=${await tokenOf(user)}`, 1000)],
  });
  await new Promise<void>((r) => repo.networkSubsystem.once("peer", () => r()));
  repos.push(repo);
  return repo;
}

/** Both devices hold the order, and the relay stored it. */
async function addPair(i: number): Promise<void> {
  const d = Math.floor(i / ORDERS_PER_DEVICE);
  if (!devices[d]) {
    const user = `editor${d}`;
    devices[d] = { user, a: await device(user), b: await device(user) };
  }
  const { user, a, b } = devices[d];
  const writer = a.create<Order>(
    createOrder({
      owner: asUserId(user),
      organization: asOrganizationId("acme"),
      currency: "USD",
      customer: { name: `Customer of ${user}` },
    }),
  );
  await relayHolds(a, writer as DocHandle<unknown>);
  const reader = await b.find<Order>(writer.url);
  pairs.push({ writer, reader });
}

async function edits(rate: number, seconds: number) {
  const needed = Math.max(1, Math.ceil((rate * ORDER_INTERVAL_MS) / 1000));
  while (pairs.length < needed) await addPair(pairs.length);
  const used = pairs.slice(0, needed);
  const latencies: number[] = [];
  const sentAt = new Map<string, number>();
  const listeners = used.map(({ reader }) => {
    const seen = () => {
      const mark = reader.doc()?.notes ?? "";
      const at = sentAt.get(mark);
      if (at !== undefined) {
        latencies.push(performance.now() - at);
        sentAt.delete(mark);
      }
    };
    reader.on("change", seen);
    return () => reader.off("change", seen);
  });
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const start = performance.now();
  let sent = 0;
  // Edits go out on a schedule, round robin over the pairs, whether or not earlier ones arrived.
  while (sent < total) {
    const due = start + sent * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const pair = used[sent % used.length] as Pair;
    const mark = `edit ${rate} ${sent}`;
    sentAt.set(mark, performance.now());
    pair.writer.change((o) => {
      o.notes = mark;
    });
    sent++;
  }
  const achieved = sent / ((performance.now() - start) / 1000);
  // Stragglers: up to 2 s more; whatever has not arrived then counts as lost.
  const deadline = performance.now() + 2_000;
  while (sentAt.size > 0 && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  for (const off of listeners) off();
  // An edit overtaken by the next one on the same order is never seen on its own: not lost.
  const overtaken = sentAt.size;
  sentAt.clear();
  latencies.sort((x, y) => x - y);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return {
    rate,
    achieved: Math.round(achieved),
    orders: needed,
    sent,
    arrived: latencies.length,
    notSeenAlone: overtaken,
    p50: at(0.5),
    p99: at(0.99),
    max: latencies.at(-1) ?? Number.NaN,
  };
}

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as { connect?: number; edits?: number; seconds?: number };
  const answer =
    command.connect !== undefined
      ? await connect(command.connect)
      : await edits(command.edits as number, command.seconds ?? 10);
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
for (const s of idle) s.terminate();
await Promise.all(repos.map((r) => r.shutdown()));
process.exit(0);
