// `npm run bench [-- --quick]`: the stock automerge-repo relay and the oms-sync relay, side by side
// on the same generated orders, each measurement in its own process. Writes bench/results/.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { mintToken } from "../src/relay/auth.js";
import { seedOms, seedStock } from "./fixtures.js";

const quick = process.argv.includes("--quick");
const sizes = quick ? [50] : [100, 1000, 5000];
const reconnectSizes = quick ? [50] : [1000, 5000];
const runsFor = (n: number) => (quick ? 1 : n >= 5000 ? 1 : 3);
const SECRET = "bench-secret-bench-secret-bench-secret-0123";
const run = promisify(execFile);
const node = (script: string) => [process.execPath, ["--import", "tsx", script]] as const;

interface Measure {
  ms: number;
  bytesSent: number;
  bytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
  peakRssMb: number;
  documents?: number;
}

async function measure(args: string[]): Promise<Measure> {
  const [exe, base] = node("bench/client.ts");
  const { stdout } = await run(exe, [...base, ...args], { timeout: 600_000, maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split("\n").at(-1) as string) as Measure;
}

async function startProcess(
  args: readonly string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      const m = ready.exec(line);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`relay exited with ${code}`)));
  });
  return { child, port };
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Math.round(Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
function summarize(ms: Measure[]): Measure {
  const keys = [
    "ms",
    "bytesSent",
    "bytesReceived",
    "messagesSent",
    "messagesReceived",
    "peakRssMb",
  ] as const;
  return Object.fromEntries(
    keys.map((k) => [k, median(ms.map((m) => m[k]))]),
  ) as unknown as Measure;
}

interface Row {
  scenario: string;
  n: number;
  runs: number;
  stock: Measure & { relayPeakRssMb: number };
  oms: Measure & { relayPeakRssMb: number };
}
const rows: Row[] = [];
const extra: Record<string, unknown> = {};

async function withRelays(
  n: number,
  body: (r: {
    stockUrl: string;
    omsUrl: string;
    ids: string;
    omsIds: string[];
    token: string;
    work: string;
  }) => Promise<void>,
): Promise<{ stockRss: number; omsRss: number }> {
  const work = mkdtempSync(join(tmpdir(), "oms-bench-"));
  const stockDir = join(work, "stock");
  const omsDir = join(work, "oms");
  mkdirSync(stockDir);
  const stockIds = await seedStock(stockDir, n);
  const omsIds = await seedOms(omsDir, n);
  const ids = join(work, "ids.json");
  writeFileSync(ids, JSON.stringify(stockIds));
  const [, base] = node("bench/stock-relay.ts");
  const stock = await startProcess([...base, stockDir, "0"], {}, /^ready (\d+)/);
  const oms = await startProcess(
    ["--import", "tsx", "src/relay/cli.ts", "--port", "0", "--data", omsDir, "--log-level", "info"],
    { OMS_RELAY_SECRET: SECRET },
    /"port":(\d+).*"msg":"relay ready"/,
  );
  const token = await mintToken(new TextEncoder().encode(SECRET), {
    sub: "alice",
    org: "acme",
    roles: ["rep"],
    offline: true,
  });
  try {
    await body({
      stockUrl: `ws://127.0.0.1:${stock.port}`,
      omsUrl: `ws://127.0.0.1:${oms.port}`,
      ids,
      omsIds,
      token,
      work,
    });
    return {
      stockRss: peakRssMb(stock.child.pid as number),
      omsRss: peakRssMb(oms.child.pid as number),
    };
  } finally {
    stock.child.kill("SIGTERM");
    oms.child.kill("SIGTERM");
    rmSync(work, { recursive: true, force: true });
  }
}

// Scenario 1: cold initial sync to an empty device.
for (const n of sizes) {
  const stockRuns: Measure[] = [];
  const omsRuns: Measure[] = [];
  const rss = await withRelays(n, async ({ stockUrl, omsUrl, ids, token }) => {
    for (let r = 0; r < runsFor(n); r++) {
      stockRuns.push(await measure(["--mode", "stock", "--url", stockUrl, "--ids", ids]));
      omsRuns.push(await measure(["--mode", "oms", "--url", omsUrl, "--token", token]));
    }
  });
  rows.push({
    scenario: "1. cold sync",
    n,
    runs: runsFor(n),
    stock: { ...summarize(stockRuns), relayPeakRssMb: rss.stockRss },
    oms: { ...summarize(omsRuns), relayPeakRssMb: rss.omsRss },
  });
  process.stderr.write(
    `scenario 1, N=${n}: stock ${summarize(stockRuns).ms.toFixed(0)} ms, oms ${summarize(omsRuns).ms.toFixed(0)} ms\n`,
  );
}

// Scenario 2: reconnect with nothing changed (the device already holds everything).
for (const n of reconnectSizes) {
  const stockRuns: Measure[] = [];
  const omsRuns: Measure[] = [];
  const rss = await withRelays(n, async ({ stockUrl, omsUrl, ids, omsIds, token, work }) => {
    const stockDevice = join(work, "stock-device");
    const omsDevice = join(work, "oms-device");
    await measure(["--mode", "stock", "--url", stockUrl, "--ids", ids, "--storage", stockDevice]);
    await measure(["--mode", "oms", "--url", omsUrl, "--token", token, "--storage", omsDevice]);
    for (let r = 0; r < runsFor(n); r++) {
      stockRuns.push(
        await measure([
          "--mode",
          "stock",
          "--url",
          stockUrl,
          "--ids",
          ids,
          "--storage",
          stockDevice,
        ]),
      );
      omsRuns.push(
        await measure(["--mode", "oms", "--url", omsUrl, "--token", token, "--storage", omsDevice]),
      );
    }
    // Scenario 6: opening an order offline (from the device) vs online (from the relay).
    if (n === reconnectSizes[0]) {
      const id = omsIds[0] as string;
      const online = await mintToken(new TextEncoder().encode(SECRET), {
        sub: "alice",
        org: "acme",
        roles: ["rep"],
        offline: false,
      });
      const offlineRuns: Measure[] = [];
      const onlineRuns: Measure[] = [];
      for (let r = 0; r < 3; r++) {
        offlineRuns.push(
          await measure([
            "--mode",
            "open",
            "--url",
            omsUrl,
            "--token",
            token,
            "--storage",
            omsDevice,
            "--id",
            id,
          ]),
        );
        onlineRuns.push(
          await measure(["--mode", "open", "--url", omsUrl, "--token", online, "--id", id]),
        );
      }
      extra.scenario6 = {
        n,
        offlineMs: median(offlineRuns.map((m) => m.ms)),
        onlineMs: median(onlineRuns.map((m) => m.ms)),
      };
    }
  });
  rows.push({
    scenario: "2. reconnect, nothing changed",
    n,
    runs: runsFor(n),
    stock: { ...summarize(stockRuns), relayPeakRssMb: rss.stockRss },
    oms: { ...summarize(omsRuns), relayPeakRssMb: rss.omsRss },
  });
  process.stderr.write(
    `scenario 2, N=${n}: stock ${summarize(stockRuns).ms.toFixed(0)} ms, oms ${summarize(omsRuns).ms.toFixed(0)} ms\n`,
  );
}

const ratio = (a: number, b: number) => (b === 0 ? "–" : (a / b).toFixed(2));
const md = [
  `# Benchmark results${quick ? " (quick)" : ""}`,
  "",
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}. ${new Date().toISOString()}.`,
  "Medians of the runs shown; ratio = oms-sync / stock (below 1 is better for time, bytes, messages and memory).",
  "",
  "| scenario | N | runs | stock ms | oms ms | ratio | stock bytes ↓/↑ | oms bytes ↓/↑ | ratio ↓ | stock msgs | oms msgs | relay peak RSS MB stock / oms | client peak RSS MB stock / oms |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...rows.map(
    (r) =>
      `| ${r.scenario} | ${r.n} | ${r.runs} | ${r.stock.ms.toFixed(0)} | ${r.oms.ms.toFixed(0)} | ${ratio(r.oms.ms, r.stock.ms)} | ${r.stock.bytesReceived}/${r.stock.bytesSent} | ${r.oms.bytesReceived}/${r.oms.bytesSent} | ${ratio(r.oms.bytesReceived, r.stock.bytesReceived)} | ${r.stock.messagesReceived + r.stock.messagesSent} | ${r.oms.messagesReceived + r.oms.messagesSent} | ${r.stock.relayPeakRssMb} / ${r.oms.relayPeakRssMb} | ${r.stock.peakRssMb} / ${r.oms.peakRssMb} |`,
  ),
  "",
  extra.scenario6
    ? `Scenario 6, opening an order (N=${(extra.scenario6 as { n: number }).n}): offline user, from the device: ${(extra.scenario6 as { offlineMs: number }).offlineMs.toFixed(1)} ms; online user, from the relay: ${(extra.scenario6 as { onlineMs: number }).onlineMs.toFixed(1)} ms.`
    : "",
  "",
].join("\n");
mkdirSync("bench/results", { recursive: true });
const name = quick ? "quick" : "latest";
writeFileSync(
  `bench/results/${name}.json`,
  JSON.stringify({ quick, date: new Date().toISOString(), rows, extra }, null, 2),
);
writeFileSync(`bench/results/${name}.md`, md);
process.stdout.write(md);
