// Scenario 4 in its own process: CLIENTS clients connected to one relay, each with an order of its
// own; two devices of one rep share an order, and each edit on one is timed until the other
// sees it. Prints a JSON line with p50 / p99 in milliseconds.
import { parseArgs } from "node:util";
import type { DocHandle, Repo } from "@automerge/automerge-repo";
import { asOrganizationId, asUserId, createOrder, type Order } from "../src/docs/index.js";
import { mintToken } from "../src/relay/auth.js";
import { connectClient, stored, timeEdits } from "./relay-wait.js";

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
  return connectClient(values.url as string, token);
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

// The crowd: everyone connected, each with an order stored by the relay. Set up 20 at a time
// (one by one took most of this scenario): nothing is timed until the crowd is in place.
const crowd: Repo[] = [];
for (let i = 0; i < CLIENTS - 2; i += 20) {
  const batch = Array.from({ length: Math.min(20, CLIENTS - 2 - i) }, (_, j) => `rep${i + j}`);
  crowd.push(
    ...(await Promise.all(
      batch.map(async (user) => {
        const repo = await connect(user);
        await stored(repo, order(repo, user) as DocHandle<unknown>);
        return repo;
      }),
    )),
  );
}
const a = await connect("alice");
const b = await connect("alice");
const shared = order(a, "alice");
await stored(a, shared as DocHandle<unknown>);
const seen = await b.find<Order>(shared.url);

const latencies = await timeEdits(shared, seen, SAMPLES);
const at = (q: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
process.stdout.write(
  `${JSON.stringify({ clients: CLIENTS, samples: SAMPLES, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: latencies.at(-1), slowest: latencies.slice(-5).map((x) => Math.round(x)) })}\n`,
);
process.exit(0);
