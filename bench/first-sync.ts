/**
 * A first sync of N orders to an empty folder storage (docs/performance.md, "Device storage and
 * resumable first syncs"), against the oms-sync relay's CLI in its own process:
 * - the whole first sync, in a client process;
 * - the same client killed (SIGKILL) half way, then started again: the documents the relay sends
 *   on the second start (its bulk counter) and that start's time;
 * - the time to open one order that is not on the device yet, asked for once 1,000 are written.
 * Prints a JSON line; writes bench/results/first-sync.{json,md} unless `--quick`.
 *
 *   node --import tsx bench/first-sync.ts [--n 5000] [--quick]
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createClient } from "../src/client/index.js";
import { mintToken } from "../src/relay/auth.js";
import { spawnClientProcess } from "../tests/integration/helpers.js";
import { spawnRelay } from "../tests/integration/relay-process.js";
import { seedOms } from "./fixtures.js";

const { values } = parseArgs({ options: { n: { type: "string" }, quick: { type: "boolean" } } });
const quick = values.quick ?? false;
const n = Number(values.n ?? (quick ? 300 : 5000));
const SECRET = "test-secret-test-secret-test-secret-0123456789";

async function bulkSent(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return Number(/^oms_relay_bulk_documents_total (\d+)/m.exec(text)?.[1] ?? 0);
}

/** The client process of the crash tests: syncs once; with killAt, SIGKILLs itself there. */
function clientProcess(url: string, token: string, folder: string, killAt?: number) {
  const { exited, lines } = spawnClientProcess([
    url,
    token,
    folder,
    "0",
    ...(killAt ? [String(killAt)] : []),
  ]);
  let killed = "";
  lines.on("line", (line) => {
    if (line.startsWith("KILLED ")) killed = line.slice(7);
  });
  return exited.then((signal) => ({ signal, killed }));
}

const root = mkdtempSync(join(tmpdir(), "oms-first-sync-"));
const relayDir = join(root, "relay");
mkdirSync(relayDir);
const ids = await seedOms(relayDir, n);
const relay = await spawnRelay(relayDir);
const token = await mintToken(new TextEncoder().encode(SECRET), {
  sub: "alice",
  org: "acme",
  roles: ["rep"],
  offline: true,
});
const result: Record<string, unknown> = {
  n,
  machine: `${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}`,
};
try {
  // 1. The whole first sync.
  let start = performance.now();
  await clientProcess(relay.url, token, join(root, "whole"));
  result.wholeMs = Math.round(performance.now() - start);

  // 2. Killed half way, started again.
  const folder = join(root, "resumed");
  const first = await clientProcess(relay.url, token, folder, n / 2);
  const sentBefore = await bulkSent(relay.httpUrl);
  start = performance.now();
  await clientProcess(relay.url, token, folder);
  result.killedAt = first.killed;
  result.secondStartMs = Math.round(performance.now() - start);
  result.secondStartBulkDocuments = (await bulkSent(relay.httpUrl)) - sentBefore;

  // 3. One order opened during a first sync, once 1,000 are written.
  const device = join(root, "open");
  const client = await createClient({ url: relay.url, token, storage: { folder: device } });
  const underway = new Promise<void>((resolve) =>
    client.sync.subscribe((s) => {
      if (s.state === "syncing" && s.progress.documentsDone >= Math.min(1_000, n / 3)) resolve();
    }),
  );
  const sync = client.sync.now();
  await underway;
  const onDevice = new Set(
    readdirSync(device, { recursive: true, encoding: "utf8" }).map((p) => p.split("/")[4]),
  );
  const wanted = [...ids].reverse().find((id) => !onDevice.has(id)) as string;
  start = performance.now();
  await client.orders.open(wanted);
  result.openDuringFirstSyncMs = Math.round(performance.now() - start);
  result.openedAt = `${client.sync.status.progress.documentsDone}/${client.sync.status.progress.documentsTotal}`;
  await sync;
  await client.close();
} finally {
  relay.child.kill("SIGTERM");
  await relay.exited;
  rmSync(root, { recursive: true, force: true });
}
result.loadAverage = loadavg()[0]?.toFixed(1);
result.at = new Date().toISOString();
process.stdout.write(`${JSON.stringify(result)}\n`);
if (!quick) {
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/first-sync.json", `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(
    "bench/results/first-sync.md",
    [
      `Machine: ${result.machine}, load average ${result.loadAverage}. ${result.at}. Folder storage, ${n} orders of 20 lines.`,
      "",
      "| measurement | result |",
      "| --- | ---: |",
      `| whole first sync (client process, start to complete) | ${result.wholeMs} ms |`,
      `| killed half way at | ${result.killedAt} documents |`,
      `| second start: documents the relay sent in bulk | ${result.secondStartBulkDocuments} |`,
      `| second start: time to complete | ${result.secondStartMs} ms |`,
      `| opening one order not yet on the device, during the first sync (at ${result.openedAt}) | ${result.openDuringFirstSyncMs} ms |`,
      "",
    ].join("\n"),
  );
}
