/**
 * The folder storage against the floor of writing the same bytes durably (docs/performance.md,
 * "Device storage and resumable first syncs"). N chunks of real order bytes (a 20-line order as
 * the relay stores it) under the keys a client's first sync writes, measured four ways:
 * - floor: each chunk written to its own file in one folder and flushed to disk (open, write,
 *   fdatasync, close), 64 at once: the least a durable write of those bytes can cost;
 * - folder storage, saves issued together (the bulk first sync);
 * - folder storage, one save after the other (each awaited: the latency of a lone save);
 * - memory storage.
 * Prints a JSON line; writes bench/results/storage-floor.{json,md} unless `--quick`.
 *
 *   node --import tsx bench/storage-floor.ts [--n 5000] [--quick]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as A from "@automerge/automerge";
import type { StorageAdapterInterface } from "@automerge/automerge-repo";
import { FileStorageAdapter } from "../src/adapters/storage-file.js";
import { MemoryStorageAdapter } from "../src/adapters/storage-memory.js";
import { PrefixedStorageAdapter } from "../src/adapters/storage-prefixed.js";
import {
  addLineItem,
  asOrganizationId,
  asUserId,
  createOrder,
  type Order,
} from "../src/docs/index.js";

const { values } = parseArgs({
  options: { n: { type: "string" }, quick: { type: "boolean" }, runs: { type: "string" } },
});
const quick = values.quick ?? false;
const n = Number(values.n ?? (quick ? 200 : 5000));
const runs = Number(values.runs ?? (quick ? 1 : 3));

function order(i: number): Uint8Array {
  let doc = A.from(
    createOrder({
      owner: asUserId("alice"),
      organization: asOrganizationId("acme"),
      currency: "USD",
      now: 1_700_000_000_000 + i,
    }) as never,
  ) as A.Doc<Order>;
  doc = A.change(doc, (o) => {
    for (let l = 0; l < 20; l++)
      addLineItem(o, { productCode: `DH-${3000 + l}`, quantity: 1 + (l % 5), unitPrice: 45_900 });
  });
  return A.save(doc);
}
const bytes = Array.from({ length: 50 }, (_, i) => order(i));
const chunks = Array.from({ length: n }, (_, i) => ({
  id: `${i.toString(36).padStart(6, "0")}Xq3Lk8rTz2ECyP5vZ`,
  data: bytes[i % bytes.length] as Uint8Array,
}));
const totalBytes = chunks.reduce((s, c) => s + c.data.byteLength, 0);

async function floor(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const i = next++;
      const handle = await open(join(dir, `${i}.chunk`), "w");
      await handle.writeFile((chunks[i] as { data: Uint8Array }).data);
      await handle.datasync();
      await handle.close();
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  const folder = await open(dir, "r");
  await folder.sync();
  await folder.close();
}

// The keys a client's bulk first sync writes, in the user's partition of the folder.
const partition = (inner: StorageAdapterInterface) =>
  new PrefixedStorageAdapter(inner, ["~p", "acme", "alice"]);

async function together(storage: StorageAdapterInterface): Promise<void> {
  await Promise.all(chunks.map((c) => storage.save([c.id, "snapshot", "bulk"], c.data)));
}

async function oneByOne(storage: StorageAdapterInterface): Promise<void> {
  for (const c of chunks) await storage.save([c.id, "snapshot", "bulk"], c.data);
}

const cases: Record<string, (dir: string) => Promise<void>> = {
  floor: (dir) => floor(dir),
  "folder, saves together": (dir) => together(partition(new FileStorageAdapter(dir))),
  "folder, one save at a time": (dir) => oneByOne(partition(new FileStorageAdapter(dir))),
  memory: () => together(partition(new MemoryStorageAdapter())),
};

const results: Record<string, number> = {};
for (const [name, fn] of Object.entries(cases)) {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const root = mkdtempSync(join(tmpdir(), "oms-floor-"));
    const start = performance.now();
    await fn(join(root, "store"));
    times.push(performance.now() - start);
    rmSync(root, { recursive: true, force: true });
  }
  results[name] = times.sort((a, b) => a - b)[Math.floor(times.length / 2)] as number;
  process.stderr.write(`${name}: ${times.map((t) => t.toFixed(0)).join(", ")} ms\n`);
}

const floorMs = results.floor as number;
const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}`;
const loadAverage = loadavg()[0]?.toFixed(1);
const summary = {
  n,
  runs,
  totalBytes,
  machine,
  loadAverage,
  at: new Date().toISOString(),
  ms: results,
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
if (!quick) {
  const rows = Object.entries(results).map(
    ([name, ms]) =>
      `| ${name} | ${n} | ${ms.toFixed(0)} | ${(ms / floorMs).toFixed(2)} | ${((n / ms) * 1000).toFixed(0)} |`,
  );
  const md = [
    `Machine: ${machine}, load average ${loadAverage}. ${summary.at}. ${n} chunks, ${(totalBytes / 1_048_576).toFixed(1)} MiB, median of ${runs}.`,
    "",
    "| writing | chunks | ms | × floor | chunks/s |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
  ].join("\n");
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/storage-floor.json", `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync("bench/results/storage-floor.md", md);
}
