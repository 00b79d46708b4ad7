// `tsx bench/catalogue.ts [--quick]`: the relay's catalogue (GET /v1/documents) over many rows,
// and what keeping it costs while storing edits. Catalogue rows are seeded directly in the
// database (not as Automerge documents): the query side reads only the catalogue table.
// Writes bench/results/catalogue.{json,md}; --quick writes nothing (prints only).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { type DocumentId, type PeerId, Repo } from "@automerge/automerge-repo/slim";
import { SqliteStorageAdapter } from "../src/adapters/storage-sqlite.js";
import {
  addLineItem,
  asOrganizationId,
  asUserId,
  createQuote,
  type LineItemId,
  type Quote,
  setHeader,
  updateLineItem,
} from "../src/docs/index.js";
import { Catalogue } from "../src/relay/catalogue/catalogue.js";
import { openDatabase } from "../src/relay/database.js";
import { HeadsIndex } from "../src/relay/heads-index.js";
import { createRelay } from "../src/relay/index.js";
import { DocumentRegistry } from "../src/relay/registry.js";
import { SqliteStore } from "../src/relay/store/sqlite/sqlite-store.js";

const quick = process.argv.includes("--quick");
const SECRET = "bench-secret-bench-secret-bench-secret-0123";
const bigRows = quick ? 10_000 : 100_000;
const smallOrgs = 10;
const smallRows = quick ? 1_000 : 10_000;
const queries = quick ? 50 : 200;
const owners = 200;
const customers = ["Lakeside Homes", "Birch & Sons", "Northwind", "Contoso", "Fabrikam"];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Seeds catalogue rows straight into the table: `rows` documents of one organization. */
function seed(db: ReturnType<typeof openDatabase>, organization: string, rows: number): void {
  const insert = db.prepare(
    `INSERT INTO catalogue (doc_id, kind, organization, owner, customer, customer_key, project,
       currency, total_minor, total_key, line_count, created_at, updated_at, request_count,
       state, order_number, revision, search, heads)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'USD', ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, '')`,
  );
  db.transaction(() => {
    for (let i = 0; i < rows; i++) {
      const kind = i % 3 === 0 ? "order" : "quote";
      const customer = `${customers[i % customers.length]} ${i % 997}`;
      const project = `Project ${i}`;
      const state = kind === "order" ? ["draft", "pending", "submitted", "rejected"][i % 4] : null;
      const number = state === "submitted" ? `SO-${String(i).padStart(6, "0")}` : null;
      const total = (i * 7919) % 10_000_000;
      const created = 1_700_000_000_000 + i * 1_000;
      insert.run(
        `${organization}-${i.toString(36).padStart(6, "0")}`,
        kind,
        organization,
        `u${i % owners}`,
        customer,
        customer.toLowerCase(),
        project,
        total,
        total,
        1 + (i % 20),
        created,
        created + (i % 5000) * 60_000,
        state,
        number,
        number ? 1 : null,
        `${customer}\n${project}\n${number ?? ""}`.toLowerCase(),
      );
    }
  })();
}

async function queryLatency(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), "oms-bench-catalogue-"));
  try {
    const db = openDatabase(join(dir, "relay.db"));
    const seeding = performance.now();
    seed(db, "big", bigRows);
    for (let o = 0; o < smallOrgs; o++) seed(db, `org${o}`, smallRows);
    db.exec("ANALYZE");
    db.close();
    const seedMs = performance.now() - seeding;
    const relay = await createRelay({ port: 0, dataDir: dir, secret: SECRET, logLevel: "silent" });
    const sorts = ["updated", "created", "customer", "total"] as const;
    const qs = [undefined, undefined, "lakeside", "birch & sons 12", "so-0000", "zzz-no-match"];
    const plan = Array.from({ length: queries }, (_, i) => {
      const big = i % 2 === 0;
      const manager = i % 3 !== 2;
      const kind = i % 4 === 0 ? "order" : "quote";
      const params = new URLSearchParams({
        kind,
        sort: sorts[i % 4] as string,
        order: i % 5 === 0 ? "asc" : "desc",
      });
      const q = qs[i % qs.length];
      if (q) params.set("q", q);
      if (manager && i % 7 === 0) params.set("owner", `u${i % owners}`);
      if (kind === "order" && i % 8 === 0) params.set("state", "submitted");
      return {
        org: big ? "big" : `org${i % smallOrgs}`,
        // A fresh user per query: the per-user rate limit is not what is measured.
        user: manager ? `m${i}` : `u${i % owners}`,
        roles: manager ? ["manager"] : ["rep"],
        params: params.toString(),
      };
    });
    const tokens = await Promise.all(
      plan.map((p) => relay.mintToken({ sub: p.user, org: p.org, roles: p.roles, offline: false })),
    );
    // Warm up the connection and the statement cache.
    await fetch(`${relay.httpUrl}/v1/documents?kind=quote`, {
      headers: { authorization: `Bearer ${tokens[0]}` },
    });
    const times: number[] = [];
    const rowsSeen: number[] = [];
    for (let i = 0; i < plan.length; i++) {
      const started = performance.now();
      const response = await fetch(`${relay.httpUrl}/v1/documents?${plan[i]?.params}`, {
        headers: { authorization: `Bearer ${tokens[i]}` },
      });
      const body = (await response.json()) as { rows?: unknown[] };
      times.push(performance.now() - started);
      if (response.status !== 200) throw new Error(`query ${i}: ${JSON.stringify(body)}`);
      rowsSeen.push(body.rows?.length ?? 0);
    }
    await relay.close();
    const sorted = [...times].sort((a, b) => a - b);
    const worst = times
      .map((t, i) => ({ ms: Math.round(t * 10) / 10, ...plan[i] }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 3)
      .map((w) => `${w.ms} ms ${w.roles?.[0]} ${w.org} ${w.params}`);
    return {
      seededRows: bigRows + smallOrgs * smallRows,
      layout: `${bigRows} in one organization + ${smallOrgs} organizations of ${smallRows}`,
      seedMs: Math.round(seedMs),
      queries,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted.at(-1),
      meanRows: rowsSeen.reduce((a, b) => a + b, 0) / rowsSeen.length,
      slowest: worst,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Edits per second stored through `repo.flush`, with or without the catalogue kept. */
async function storeRate(withCatalogue: boolean, documents: number, edits: number) {
  const dir = mkdtempSync(join(tmpdir(), "oms-bench-upkeep-"));
  const db = openDatabase(join(dir, "relay.db"));
  const storage = new SqliteStorageAdapter(db);
  const store = new SqliteStore(db);
  const registry = new DocumentRegistry(store.registry);
  const repo = new Repo({ storage, peerId: "bench" as PeerId, isEphemeral: false });
  new HeadsIndex(store.heads).recordOnFlush(repo);
  const catalogue = withCatalogue
    ? new Catalogue(db, (id) => registry.peek(id) ?? store.metaNow(id), storage)
    : undefined;
  catalogue?.keepOnFlush(repo, (_, err) => {
    throw err;
  });
  const owner = asUserId("alice");
  const organization = asOrganizationId("acme");
  const handles = Array.from({ length: documents }, () => {
    const handle = repo.create<Quote>(createQuote({ owner, organization, currency: "USD" }));
    void registry.register(handle.documentId, { kind: "quote", owner, organization });
    handle.change((q) => {
      for (let l = 0; l < 20; l++)
        addLineItem(q, { productCode: `P${l}`, quantity: 1 + l, unitPrice: 1000 + l });
    });
    return handle;
  });
  await repo.flush();
  catalogue?.settle();
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < edits; i++) {
    const handle = handles[i % documents];
    // Half header edits (the searched text changes), half line edits (the total changes).
    handle?.change((q) =>
      i % 2 === 0
        ? setHeader(q, { customer: { name: `Customer ${i}` } })
        : updateLineItem(q, Object.keys(q.lineItems)[i % 20] as LineItemId, {
            quantity: 1 + (i % 50),
          }),
    );
    await repo.flush([handle?.documentId as DocumentId]);
    // Timers get their turn, as between messages in the relay (the catalogue writes rows there).
    if (i % 10 === 9) await new Promise((r) => setImmediate(r));
  }
  catalogue?.settle();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  await repo.shutdown();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { wall: edits / (ms / 1000), cpu: edits / (cpuMs / 1000) };
}

async function upkeep(): Promise<Record<string, unknown>> {
  const documents = 100;
  const edits = quick ? 300 : 1_000;
  const rounds = quick ? 3 : 7;
  const without: { wall: number; cpu: number }[] = [];
  const withIt: { wall: number; cpu: number }[] = [];
  // Interleaved, medians: the machine is shared, single runs vary by more than the effect.
  for (let r = 0; r < rounds; r++) {
    without.push(await storeRate(false, documents, edits));
    withIt.push(await storeRate(true, documents, edits));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const cpuWithout = median(without.map((x) => x.cpu));
  const cpuWith = median(withIt.map((x) => x.cpu));
  const wallWithout = median(without.map((x) => x.wall));
  const wallWith = median(withIt.map((x) => x.wall));
  return {
    documents,
    editsPerRun: edits,
    rounds,
    editsPerSecondWithout: Math.round(wallWithout),
    editsPerSecondWith: Math.round(wallWith),
    editsPerCpuSecondWithout: Math.round(cpuWithout),
    editsPerCpuSecondWith: Math.round(cpuWith),
    upkeepPercent: Math.round((wallWithout / wallWith - 1) * 1000) / 10,
    upkeepCpuPercent: Math.round((cpuWithout / cpuWith - 1) * 1000) / 10,
  };
}

const query = await queryLatency();
process.stderr.write(`catalogue queries: ${JSON.stringify(query)}\n`);
const cost = await upkeep();
process.stderr.write(`catalogue upkeep: ${JSON.stringify(cost)}\n`);
const md = [
  `# Catalogue benchmark${quick ? " (quick)" : ""}`,
  "",
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}. ${new Date().toISOString()}.`,
  "",
  `Search and first page (GET /v1/documents over HTTP, token verified, ${query.queries} queries with mixed kinds, sorts, orders, q, owner and state, managers and reps): ${query.layout} catalogue rows, seeded directly in the database rather than as Automerge documents. p50 ${(query.p50Ms as number).toFixed(1)} ms, p99 ${(query.p99Ms as number).toFixed(1)} ms, max ${(query.maxMs as number).toFixed(1)} ms (goal: p99 under 50 ms). Slowest: ${(query.slowest as string[]).join("; ")}.`,
  "",
  `Upkeep while storing edits (${cost.documents} quotes of 20 lines, one edit then repo.flush per edit, half header edits and half line edits, rows written by the catalogue's 50 ms batches, median of ${cost.rounds} runs of ${cost.editsPerRun}): ${cost.editsPerSecondWithout} edits/s without the catalogue, ${cost.editsPerSecondWith} with it (wall clock: ${cost.upkeepPercent} % more time per stored edit); per CPU second ${cost.editsPerCpuSecondWithout} without, ${cost.editsPerCpuSecondWith} with: ${cost.upkeepCpuPercent} % more CPU per stored edit (goal: under 10 %).`,
  "",
].join("\n");
process.stdout.write(`${JSON.stringify({ query, upkeep: cost })}\n`);
if (!quick) {
  mkdirSync("bench/results", { recursive: true });
  writeFileSync(
    "bench/results/catalogue.json",
    JSON.stringify({ date: new Date().toISOString(), query, upkeep: cost }, null, 2),
  );
  writeFileSync("bench/results/catalogue.md", md);
}
process.stderr.write(md);
