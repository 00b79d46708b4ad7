// Issue 17's memory goal, "no node's RSS grows with the number of stored documents": for each
// size N, a fresh PostgreSQL database holds N orders (alice's fixed 500 in her "My", the rest
// owned by other reps); one relay node (with the NATS bus, as in a cluster) starts on it, and its
// RSS is read idle after start, after alice's digest request, and after a device of alice's
// cold-syncs her 500 orders (bench/client.ts, its own process). Prints one JSON line with the
// figures per N and the ratio of the largest N's to the smallest's at each step.
//
//   tsx bench/cluster-memory.ts [--quick]        (bench/run.ts runs it as scenario 11)

import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { promisify } from "node:util";
import { type DocumentId, Repo, type StorageKey } from "@automerge/automerge-repo";
import pg from "pg";
import { headsHash } from "../src/docs/heads-digest.js";
import { addToMy, asDocId, createWorkspace } from "../src/docs/index.js";
import { mintToken } from "../src/relay/auth.js";
import { openStore } from "../src/relay/store/open.js";
import { TEST_SECRET, tempDir } from "../tests/integration/helpers.js";
import { spawnRelay } from "../tests/integration/relay-process.js";
import { createTestDatabase } from "../tests/store/postgres-test-database.js";
import { fill, organization, owner } from "./fixtures.js";
import { rssMb } from "./processes.js";

const quick = process.argv.includes("--quick");
const sizes = quick ? [1_000, 5_000] : [1_000, 10_000, 50_000];
/** alice's orders, the same at every N: what her digest and her cold sync cover. */
const MINE = 500;
/** Owners of the other orders. */
const OTHER_REPS = 100;
const natsUrl = process.env.OMS_TEST_NATS ?? "nats://127.0.0.1:4222";
const rowsPerInsert = 2_000;

/**
 * N orders written into the PostgreSQL store in batches of 2,000 rows per statement (chunks,
 * registry, heads), as the store's own writes lay them out, plus alice's workspace listing her
 * `MINE` of them. 50,000 documents take seconds where one save per document took minutes.
 */
async function seed(database: string, n: number): Promise<void> {
  const saved: { id: string; key: StorageKey; data: Uint8Array; heads: string[] }[] = [];
  let pending: { key: StorageKey; data: Uint8Array } | undefined;
  // fill() hands each document to a storage adapter then to `onStored`: collect both.
  const collector = {
    async save(key: StorageKey, data: Uint8Array) {
      pending = { key, data };
    },
  } as unknown as Parameters<typeof fill>[0];
  const ids = await fill(collector, n, async (id, heads) => {
    if (pending) saved.push({ id, ...pending, heads });
  });
  const hashes = new Map<string, string>();
  for (const s of saved) {
    const k = s.heads.join(",");
    if (!hashes.has(k)) hashes.set(k, await headsHash(s.heads));
  }
  const db = new pg.Client({ connectionString: database });
  await db.connect();
  const now = Date.now();
  for (let i = 0; i < saved.length; i += rowsPerInsert) {
    const batch = saved.slice(i, i + rowsPerInsert);
    const at = (j: number) => i + j;
    await db.query("BEGIN");
    await db.query(
      `INSERT INTO chunks (key, doc_id, data)
       SELECT ARRAY[d, 'snapshot', k], d, b FROM unnest($1::text[], $2::text[], $3::bytea[]) AS t(d, k, b)`,
      [
        batch.map((s) => s.id),
        batch.map((s) => String(s.key[2])),
        batch.map((s) => Buffer.from(s.data.buffer, s.data.byteOffset, s.data.byteLength)),
      ],
    );
    await db.query(
      `INSERT INTO documents (doc_id, kind, owner, organization, created_at)
       SELECT d, 'order', o, $3, $4 FROM unnest($1::text[], $2::text[]) AS t(d, o)`,
      [
        batch.map((s) => s.id),
        batch.map((_, j) => (at(j) < MINE ? owner : `rep${at(j) % OTHER_REPS}`)),
        organization,
        now,
      ],
    );
    await db.query(
      `INSERT INTO document_heads (doc_id, hash, heads)
       SELECT d, h, x FROM unnest($1::text[], $2::text[], $3::text[]) AS t(d, h, x)`,
      [
        batch.map((s) => s.id),
        batch.map((s) => hashes.get(s.heads.join(",")) as string),
        batch.map((s) => JSON.stringify(s.heads)),
      ],
    );
    await db.query("COMMIT");
  }
  await db.end();
  // alice's workspace, through the store as the relay writes it.
  const dir = tempDir();
  const store = await openStore({ database, dataDir: dir.dir });
  const repo = new Repo({ storage: store.chunks, network: [] });
  const workspace = repo.create(createWorkspace({ owner, organization }));
  workspace.change((w) => {
    for (const id of ids.slice(0, MINE)) addToMy(w, asDocId(id), "order", 1);
  });
  await repo.flush([workspace.documentId as DocumentId]);
  await store.registry.registerUserDocument(
    workspace.documentId,
    { kind: "workspace", owner, organization },
    1,
  );
  await repo.shutdown();
  await store.close();
  dir.remove();
}

/** The node's RSS in MB once it has settled: the median of five readings 500 ms apart. */
async function settledRss(pid: number): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 500));
    readings.push(rssMb(pid));
  }
  return readings.sort((x, y) => x - y)[2] as number;
}

async function measure(n: number) {
  const database = await createTestDatabase("oms_memory");
  const data = tempDir();
  try {
    // The store's migrations run when it is first opened.
    await (await openStore({ database: database.url, dataDir: data.dir })).close();
    const seedStart = performance.now();
    await seed(database.url, n);
    const seedMs = performance.now() - seedStart;
    const node = await spawnRelay(data.dir, [
      "--database",
      database.url,
      "--bus",
      natsUrl,
      "--node-id",
      "node-memory",
    ]);
    const pid = node.child.pid as number;
    try {
      await new Promise((r) => setTimeout(r, 2_000));
      const idle = await settledRss(pid);
      const secret = new TextEncoder().encode(TEST_SECRET);
      const token = await mintToken(secret, {
        sub: owner,
        org: organization,
        roles: ["rep"],
        offline: true,
      });
      const res = await fetch(`${node.httpUrl}/v1/sync/digest`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ buckets: {}, exclude: [] }),
      });
      const digest = (await res.json()) as { documents: number };
      if (res.status !== 200) throw new Error(`digest answered ${res.status}`);
      const afterDigest = await settledRss(pid);
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          "--import",
          "tsx",
          "bench/client.ts",
          "--mode",
          "oms",
          "--url",
          node.url,
          "--token",
          token,
        ],
        { timeout: 600_000, maxBuffer: 1 << 20 },
      );
      const synced = JSON.parse(stdout.trim().split("\n").at(-1) as string) as {
        ms: number;
        documents: number;
      };
      const afterSync = await settledRss(pid);
      const peak = rssMb(pid, "peak");
      return {
        documents: n,
        seedMs: Math.round(seedMs),
        digestScope: digest.documents,
        coldSync: { ms: Math.round(synced.ms), documents: synced.documents },
        rssMb: { idle, afterDigest, afterSync, peak },
      };
    } finally {
      node.child.kill("SIGTERM");
      await node.exited;
    }
  } finally {
    await database.drop();
    rmSync(data.dir, { recursive: true, force: true });
  }
}

const runs = [];
for (const n of sizes) {
  const r = await measure(n);
  process.stderr.write(`cluster memory: ${JSON.stringify(r)}\n`);
  runs.push(r);
}
const first = runs[0] as Awaited<ReturnType<typeof measure>>;
const last = runs.at(-1) as Awaited<ReturnType<typeof measure>>;
const ratio = (k: keyof typeof first.rssMb) => Number((last.rssMb[k] / first.rssMb[k]).toFixed(2));
process.stdout.write(
  `${JSON.stringify({
    mine: MINE,
    runs,
    ratios: {
      of: `${last.documents} / ${first.documents} documents`,
      idle: ratio("idle"),
      afterDigest: ratio("afterDigest"),
      afterSync: ratio("afterSync"),
      peak: ratio("peak"),
    },
  })}\n`,
);
process.exit(0);
