// Scenario 4 in its own process: CLIENTS clients connected to one relay, each with an order of its
// own; two devices of one rep share an order, and each edit on one is timed until the other
// sees it. Prints a JSON line with p50 / p99 in milliseconds.
import { parseArgs } from "node:util";
import { type DocHandle, type PeerId, Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { asOrganizationId, asUserId, createOrder, type Order } from "../src/docs/index.js";
import { mintToken } from "../src/relay/auth.js";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    secret: { type: "string" },
    clients: { type: "string" },
    samples: { type: "string" },
  },
});
const CLIENTS = Number(values.clients ?? 200);
const SAMPLES = Number(values.samples ?? 200);

async function connect(user: string): Promise<Repo> {
  const token = values.secret
    ? await mintToken(new TextEncoder().encode(values.secret), {
        sub: user,
        org: "acme",
        roles: ["rep"],
        offline: true,
      })
    : "";
  const repo = new Repo({
    network: [new WebSocketClientAdapter(`${values.url}/?token=${token}`, 1000)],
  });
  await new Promise<void>((r) => repo.networkSubsystem.once("peer", () => r()));
  return repo;
}

function stored(repo: Repo, handle: DocHandle<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      const storageId = repo.getStorageIdOfPeer(repo.peers[0] as PeerId);
      const theirs = storageId ? handle.getSyncInfo(storageId)?.lastHeads : undefined;
      if (theirs && handle.heads().every((h) => theirs.includes(h))) {
        handle.off("remote-heads", check);
        resolve();
      }
    };
    handle.on("remote-heads", check);
    check();
  });
}

function order(repo: Repo, user: string): DocHandle<Order> {
  return repo.create<Order>(
    createOrder({
      owner: asUserId(user),
      organization: asOrganizationId("acme"),
      currency: "USD",
      customer: { name: `Customer of ${user}` },
    }),
  );
}

// The crowd: everyone connected, each with an order stored by the relay.
const crowd: Repo[] = [];
for (let i = 0; i < CLIENTS - 2; i++) {
  const repo = await connect(`rep${i}`);
  await stored(repo, order(repo, `rep${i}`) as DocHandle<unknown>);
  crowd.push(repo);
}
const a = await connect("alice");
const b = await connect("alice");
const shared = order(a, "alice");
await stored(a, shared as DocHandle<unknown>);
const seen = await b.find<Order>(shared.url);

const latencies: number[] = [];
for (let i = 0; i < SAMPLES; i++) {
  const mark = `edit ${i}`;
  const arrived = new Promise<number>((resolve) => {
    const check = () => {
      if (seen.doc().notes === mark) {
        seen.off("change", check);
        resolve(performance.now());
      }
    };
    seen.on("change", check);
  });
  const start = performance.now();
  shared.change((o) => {
    o.notes = mark;
  });
  latencies.push((await arrived) - start);
  // Edits are spaced past automerge-repo's 100 ms sync throttle (on the device and on the relay):
  // a burst is sent as one batch at most every 100 ms by design; this measures a single edit.
  await new Promise((r) => setTimeout(r, 150));
}
latencies.sort((x, y) => x - y);
const at = (q: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
process.stdout.write(
  `${JSON.stringify({ clients: CLIENTS, samples: SAMPLES, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: latencies.at(-1), slowest: latencies.slice(-5).map((x) => Math.round(x)) })}\n`,
);
process.exit(0);
