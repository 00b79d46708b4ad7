// Scale-out scenarios (docs/scale-out.md), each on real relay processes against the machine's
// PostgreSQL and NATS: edit propagation between two devices on different nodes of three, cold
// sync from a PostgreSQL node against a SQLite node, and submissions per second on three nodes.
// `tsx bench/cluster.ts [--quick]` prints one JSON line; bench/run.ts calls it. `--cold-only`
// runs the cold-sync scenario alone (with the store operations each node counted);
// `--propagation-only` the cross-node propagation alone, with `--clients N` and `--samples N`.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import * as A from "@automerge/automerge";
import { type DocHandle, Repo } from "@automerge/automerge-repo";
import pg from "pg";
import { headsHash } from "../src/docs/heads-digest.js";
import {
  addLineItem,
  addSubmissionRequest,
  asDocId,
  asOrganizationId,
  asUserId,
  createOrder,
  createWorkspace,
  type Order,
} from "../src/docs/index.js";
import { addToMy } from "../src/docs/workspace.js";
import { mintToken } from "../src/relay/auth.js";
import { openStore } from "../src/relay/store/open.js";
import { fill, organization, owner, seedOms } from "./fixtures.js";
import { connectClient, stored, timeEdits } from "./relay-wait.js";

const quick = process.argv.includes("--quick");
const coldOnly = process.argv.includes("--cold-only");
const propagationOnly = process.argv.includes("--propagation-only");
const flag = (name: string): number | undefined => {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : Number(process.argv[at + 1]);
};
const SECRET = "bench-secret-bench-secret-bench-secret-0123";
const secret = new TextEncoder().encode(SECRET);
const postgresUrl = process.env.OMS_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const natsUrl = process.env.OMS_TEST_NATS ?? "nats://127.0.0.1:4222";
const sizes = {
  clients: flag("--clients") ?? (quick ? 30 : 600),
  samples: flag("--samples") ?? (quick ? 20 : 200),
  coldDocuments: quick ? 50 : 5_000,
  submitReps: quick ? 6 : 30,
  submitPerRep: quick ? 3 : 10,
};

interface Node {
  child: ChildProcess;
  url: string;
  httpUrl: string;
}

async function startNode(dataDir: string, args: string[]): Promise<Node> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "src/relay/cli.ts",
      "--port",
      "0",
      "--data",
      dataDir,
      "--log-level",
      "info",
      ...args,
    ],
    { env: { ...process.env, OMS_RELAY_SECRET: SECRET }, stdio: ["ignore", "pipe", "inherit"] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      const m = /"port":(\d+).*"msg":"relay ready"/.exec(line);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`relay exited with ${code}`)));
  });
  return { child, url: `ws://127.0.0.1:${port}`, httpUrl: `http://127.0.0.1:${port}` };
}

async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `oms_bench_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: postgresUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function threeNodes(database: string): Promise<Node[]> {
  return Promise.all(
    ["node-a", "node-b", "node-c"].map((name) =>
      startNode(mkdtempSync(join(tmpdir(), `oms-bench-${name}-`)), [
        "--database",
        database,
        "--bus",
        natsUrl,
        "--node-id",
        name,
        "--processor-interval-ms",
        "1000",
      ]),
    ),
  );
}

async function connect(url: string, user: string): Promise<Repo> {
  const token = await mintToken(secret, { sub: user, org: "acme", roles: ["rep"], offline: true });
  return connectClient(url, token);
}

function newOrder(repo: Repo, user: string): DocHandle<Order> {
  const handle = repo.create<Order>(
    createOrder({
      owner: asUserId(user),
      organization: asOrganizationId("acme"),
      currency: "USD",
      customer: { name: `Customer of ${user}` },
    }),
  );
  handle.change((o) => {
    addLineItem(o, { productCode: "DH-3046", quantity: 1, unitPrice: 1_000 });
  });
  return handle;
}

const percentile = (xs: number[], q: number) =>
  xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] as number;

/** Edits on a device of node a, timed until a device of the same user on node b sees them. */
async function propagation(nodes: Node[]) {
  const crowd: Repo[] = [];
  // The crowd is spread over the three nodes, each with an order stored.
  for (let i = 0; i < sizes.clients - 2; i++) {
    const repo = await connect((nodes[i % 3] as Node).url, `rep${i}`);
    await stored(repo, newOrder(repo, `rep${i}`) as DocHandle<unknown>);
    crowd.push(repo);
  }
  const a = await connect((nodes[0] as Node).url, "alice");
  const b = await connect((nodes[1] as Node).url, "alice");
  const shared = newOrder(a, "alice");
  await stored(a, shared as DocHandle<unknown>);
  const seen = await b.find<Order>(shared.url);
  const latencies = await timeEdits(shared, seen, sizes.samples);
  for (const r of [...crowd, a, b]) for (const ad of r.networkSubsystem.adapters) ad.disconnect();
  return {
    clients: sizes.clients,
    samples: sizes.samples,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: latencies.at(-1) as number,
  };
}

/** The same orders as `seedOms`, written into the PostgreSQL store. */
async function seedPostgres(database: string, n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "oms-bench-seed-"));
  const store = await openStore({ database, dataDir: dir });
  const ids = await fill(store.chunks, n, async (id, heads) => {
    await store.heads.record(id, { hash: await headsHash(heads), heads });
  });
  for (const id of ids)
    await store.registry.register(id, { kind: "order", owner, organization }, 1);
  const repo = new Repo({ storage: store.chunks, network: [] });
  const workspace = repo.create(createWorkspace({ owner, organization }));
  workspace.change((w) => {
    for (const id of ids) addToMy(w, asDocId(id), "order", 1);
  });
  await repo.flush([workspace.documentId]);
  await store.registry.registerUserDocument(
    workspace.documentId,
    { kind: "workspace", owner, organization },
    1,
  );
  await repo.shutdown();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

/** A device syncing every order of its user from empty (bench/client.ts, its own process). */
async function coldSync(url: string): Promise<number> {
  const token = await mintToken(secret, {
    sub: "alice",
    org: "acme",
    roles: ["rep"],
    offline: true,
  });
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", "bench/client.ts", "--mode", "oms", "--url", url, "--token", token],
    { timeout: 600_000, maxBuffer: 1 << 20 },
  );
  return (JSON.parse(stdout.trim().split("\n").at(-1) as string) as { ms: number }).ms;
}

/** Store operations a node ran, by operation, from its /metrics (the store latency counts). */
async function storeOperations(node: Node): Promise<Record<string, number>> {
  const text = await (await fetch(`${node.httpUrl}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(
    /^oms_relay_store_seconds_count\{[^}]*operation="([^"]+)"[^}]*\} (\d+)/gm,
  ))
    counts[m[1] as string] = Number(m[2]);
  return counts;
}

async function cold() {
  const n = sizes.coldDocuments;
  const sqliteDir = mkdtempSync(join(tmpdir(), "oms-bench-sqlite-"));
  await seedOms(sqliteDir, n);
  const sqliteNode = await startNode(sqliteDir, []);
  const sqliteMs = await coldSync(sqliteNode.url);
  const sqliteOperations = await storeOperations(sqliteNode);
  sqliteNode.child.kill("SIGTERM");
  rmSync(sqliteDir, { recursive: true, force: true });
  const db = await freshDatabase();
  try {
    await seedPostgres(db.url, n);
    const pgNode = await startNode(mkdtempSync(join(tmpdir(), "oms-bench-pg-")), [
      "--database",
      db.url,
    ]);
    const postgresMs = await coldSync(pgNode.url);
    const postgresOperations = await storeOperations(pgNode);
    pgNode.child.kill("SIGTERM");
    await new Promise((r) => pgNode.child.once("exit", r));
    if (coldOnly)
      process.stderr.write(
        `cluster bench: store operations ${JSON.stringify({ sqliteOperations, postgresOperations })}\n`,
      );
    return { documents: n, sqliteMs, postgresMs, ratio: postgresMs / sqliteMs };
  } finally {
    await db.drop();
  }
}

/** Reps spread over three nodes submit; the time until every request has its outcome. */
async function submissions(nodes: Node[], database: string) {
  const reps = await Promise.all(
    Array.from({ length: sizes.submitReps }, async (_, i) => {
      const node = nodes[i % 3] as Node;
      const user = `sub${i}`;
      const repo = await connect(node.url, user);
      const token = await mintToken(secret, {
        sub: user,
        org: "acme",
        roles: ["rep"],
        offline: true,
      });
      const session = await fetch(`${node.httpUrl}/v1/session`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const { receipt } = ((await session.json()) as { relayTime: { receipt: string } }).relayTime;
      const order = newOrder(repo, user);
      await stored(repo, order as DocHandle<unknown>);
      return { repo, order, user, receipt };
    }),
  );
  const client = new pg.Client({ connectionString: database });
  await client.connect();
  const total = sizes.submitReps * sizes.submitPerRep;
  const start = performance.now();
  for (let k = 0; k < sizes.submitPerRep; k++) {
    for (const r of reps) {
      r.order.change((o) => {
        addLineItem(o, { productCode: `P-${k}`, quantity: 1, unitPrice: 100 });
      });
      r.order.change((o) => {
        addSubmissionRequest(o, {
          requestedBy: asUserId(r.user),
          heads: A.getHeads(o),
          lastSyncAt: Date.now(),
          lastSyncReceipt: r.receipt,
        });
      });
    }
  }
  for (;;) {
    const { rows } = await client.query<{ n: string }>(
      "SELECT count(*) AS n FROM submission_outcomes",
    );
    if (Number(rows[0]?.n) >= total) break;
    if (performance.now() - start > 300_000)
      throw new Error("submissions did not all get outcomes in 5 min");
    await new Promise((r) => setTimeout(r, 50));
  }
  const ms = performance.now() - start;
  await client.end();
  for (const r of reps) for (const ad of r.repo.networkSubsystem.adapters) ad.disconnect();
  return { requests: total, nodes: 3, ms, perSecond: (total / ms) * 1000 };
}

if (coldOnly) {
  process.stdout.write(`${JSON.stringify({ coldSyncs: await cold() })}\n`);
  process.exit(0);
}
const db = await freshDatabase();
let nodes: Node[] = [];
try {
  nodes = await threeNodes(db.url);
  const crossNode = await propagation(nodes);
  process.stderr.write(`cluster bench: cross-node ${JSON.stringify(crossNode)}\n`);
  if (propagationOnly) process.stdout.write(`${JSON.stringify({ crossNode })}\n`);
  else {
    const submitted = await submissions(nodes, db.url);
    process.stderr.write(`cluster bench: submissions ${JSON.stringify(submitted)}\n`);
    for (const n of nodes) n.child.kill("SIGTERM");
    nodes = [];
    const coldSyncs = await cold();
    process.stdout.write(`${JSON.stringify({ crossNode, coldSyncs, submitted })}\n`);
  }
} finally {
  for (const n of nodes) n.child.kill("SIGKILL");
  await db.drop();
}
process.exit(0);
