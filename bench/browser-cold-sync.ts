// `tsx bench/browser-cold-sync.ts [--quick] [--full-stock] [--oms 1000,5000]`: a cold sync in Chromium to an empty
// IndexedDB, the built oms-sync package (dist/) against the oms-sync relay and the stock
// automerge-repo browser client against the stock relay, both on 127.0.0.1, in one run. Then
// oms-sync alone at 20,000 orders, to see where it breaks. Prints one JSON line (with `md`).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { mintToken } from "../src/relay/auth.js";
import { seedOms, seedStock } from "./fixtures.js";
import { rssMb, startOmsRelay, startStockRelay } from "./processes.js";

const quick = process.argv.includes("--quick");
const fullStock = process.argv.includes("--full-stock");
/** `--oms 1000,5000`: oms-sync (and its floor) alone at those sizes, no stock, no md row. */
const omsOnly = process.argv.includes("--oms")
  ? (process.argv[process.argv.indexOf("--oms") + 1] ?? "").split(",").map(Number)
  : undefined;
/** The headline size, the size the stock client is tuned at, and the size meant to break. */
const N = quick ? 200 : 5_000;
const TUNE_N = quick ? 200 : 1_000;
const BIG_N = quick ? 0 : 20_000;
const CONCURRENCIES = quick ? [50, 0] : [50, 200, 0];
/**
 * The stock client at 5,000 stops here (minutes otherwise): its time is then a lower bound, and
 * past automerge-repo's 60 s a document it waits for is "unavailable" anyway.
 */
const STOCK_CAP_MS = fullStock ? 900_000 : 60_000;
/** A tuning run stops at this multiple of the best so far (it cannot be the best). */
const SWEEP_STOP = 1.5;
const OMS_CAP_MS = 300_000;
const SECRET = "bench-secret-bench-secret-bench-secret-0123";
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const work = mkdtempSync(join(tmpdir(), "oms-browser-bench-"));
const log = (line: string) => process.stderr.write(`browser cold sync: ${line}\n`);

/** dist/ as `npm run build` leaves it; built first when missing or older than src/. */
function ensureBuilt(): void {
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((e) =>
        e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
      ),
    );
  if (existsSync("dist/index.js") && statSync("dist/index.js").mtimeMs > newest("src")) return;
  log("building dist/ (npm run build)");
  execFileSync("npm", ["run", "build"], { stdio: ["ignore", "ignore", "inherit"] });
}

/** Both pages bundled as the example's page is (automerge's wasm inline). */
async function bundle(out: string): Promise<void> {
  const automerge = fileURLToPath(import.meta.resolve("@automerge/automerge"));
  await build({
    entryPoints: ["bench/browser/oms-page.ts", "bench/browser/stock-page.ts"],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outdir: out,
    logLevel: "warning",
    plugins: [
      {
        name: "automerge-inline-wasm",
        setup(b) {
          b.onResolve({ filter: /^@automerge\/automerge$/ }, () => ({
            path: join(automerge, "..", "fullfat_base64.js"),
          }));
        },
      },
    ],
  });
}

/** Serves `/oms` and `/stock`: an empty page that loads the side's bundle. */
async function servePages(out: string): Promise<{ url: string; close: () => void }> {
  const { readFileSync } = await import("node:fs");
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] as string;
    if (path.endsWith(".js")) {
      res.writeHead(200, { "content-type": "text/javascript" });
      return void res.end(readFileSync(join(out, path.slice(1))));
    }
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<!doctype html><script type="module" src="${path}-page.js"></script>`);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

interface Result {
  ms: number;
  documents?: number;
  heapMb?: number;
  storageMb?: number;
  /** Bytes and values stored in IndexedDB after the sync. */
  bytes?: number;
  records?: number;
  /** Stopped at the cap: `ms` is a lower bound. */
  capped?: boolean;
  error?: string;
}

/**
 * One measurement in a new Chromium with a new profile (a persistent one: IndexedDB on disk, not
 * the in-memory store of an incognito context), closed afterwards.
 */
async function inBrowser(
  pageUrl: string,
  fn: string,
  args: unknown[],
  capMs: number,
): Promise<Result> {
  const profile = mkdtempSync(join(work, "profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--enable-precise-memory-info",
    ],
  });
  const started = performance.now();
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("crash", () => errors.push("the page crashed"));
    await page.goto(pageUrl);
    await page.waitForFunction((name) => name in window, fn);
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<Result>((resolve) => {
      timer = setTimeout(() => resolve({ ms: performance.now() - started, capped: true }), capMs);
    });
    const result = await Promise.race([
      page
        .evaluate(
          ([name, a]) =>
            (window as unknown as Record<string, (...x: unknown[]) => Promise<Result>>)[
              name as string
            ]?.(...(a as unknown[])) as Promise<Result>,
          [fn, args] as const,
        )
        .catch((e: Error) => ({ ms: Number.NaN, error: errors[0] ?? e.message.split("\n")[0] })),
      cap,
    ]);
    clearTimeout(timer);
    return result;
  } finally {
    await context.close().catch(() => undefined);
    if (process.env.BENCH_DU)
      log(
        execFileSync("du", ["-a", "-k", join(profile, "Default")])
          .toString()
          .split("\n")
          .filter((l) => /IndexedDB|File System|blob/.test(l))
          .join("\n"),
      );
    rmSync(profile, { recursive: true, force: true });
  }
}

const fmt = (r: Result | undefined) =>
  !r ? "–" : r.error ? `failed (${r.error})` : `${r.capped ? "> " : ""}${Math.round(r.ms)}`;

ensureBuilt();
const out = join(work, "pages");
await bundle(out);
const pages = await servePages(out);
const token = await mintToken(new TextEncoder().encode(SECRET), {
  sub: "alice",
  org: "acme",
  roles: ["rep"],
  offline: true,
});

/** oms-sync at `n`: seeded relay, a cold sync, the floor of the same bytes in IndexedDB. */
async function omsAt(n: number) {
  const dir = join(work, `oms-${n}`);
  mkdirSync(dir);
  await seedOms(dir, n);
  const relay = await startOmsRelay(dir, SECRET);
  try {
    const url = `ws://127.0.0.1:${relay.port}`;
    const oms = await inBrowser(`${pages.url}/oms`, "coldSync", [url, token], OMS_CAP_MS);
    log(`oms-sync N=${n}: ${JSON.stringify(oms)}`);
    // The floor writes as many bytes as the device holds after the sync, one record a document.
    const bytesEach = Math.ceil((oms.bytes ?? 0) / n) || 2_600;
    const floor = await inBrowser(`${pages.url}/oms`, "floor", [n, bytesEach], OMS_CAP_MS);
    log(`floor N=${n}: ${JSON.stringify(floor)}`);
    return { oms, floor, bytesEach, relayPeakRssMb: rssMb(relay.child.pid as number, "peak") };
  } finally {
    relay.child.kill("SIGTERM");
  }
}

if (omsOnly) {
  try {
    for (const n of omsOnly) await omsAt(n);
  } finally {
    pages.close();
    rmSync(work, { recursive: true, force: true });
  }
  process.exit(0);
}

const result: Record<string, unknown> = { n: N, tuneN: TUNE_N, bigN: BIG_N };
try {
  // Stock: tuned at TUNE_N, then N at its best concurrency (capped unless --full-stock).
  const stockDir = join(work, "stock");
  mkdirSync(stockDir);
  const ids = await seedStock(stockDir, N);
  const stockRelay = await startStockRelay(stockDir);
  const stockUrl = `ws://127.0.0.1:${stockRelay.port}`;
  const tuning: Record<string, Result> = {};
  try {
    let bestMs = Number.POSITIVE_INFINITY;
    for (const c of CONCURRENCIES) {
      const r = await inBrowser(
        `${pages.url}/stock`,
        "coldSync",
        [stockUrl, ids.slice(0, TUNE_N), c],
        Math.min(STOCK_CAP_MS, Math.max(5_000, SWEEP_STOP * bestMs)),
      );
      if (!r.error && !r.capped && r.ms < bestMs) bestMs = r.ms;
      tuning[c === 0 ? "unbounded" : String(c)] = r;
      log(`stock N=${TUNE_N} concurrency ${c || "unbounded"}: ${JSON.stringify(r)}`);
    }
    const ok = CONCURRENCIES.filter((c) => {
      const r = tuning[c === 0 ? "unbounded" : String(c)];
      return r && !r.error && !r.capped;
    });
    ok.sort(
      (a, b) =>
        (tuning[a === 0 ? "unbounded" : String(a)] as Result).ms -
        (tuning[b === 0 ? "unbounded" : String(b)] as Result).ms,
    );
    const best = ok[0] ?? 200;
    result.stockBestConcurrency = best === 0 ? "unbounded" : String(best);
    result.stockTuning = tuning;
    result.stock =
      TUNE_N === N
        ? tuning[result.stockBestConcurrency as string]
        : await inBrowser(`${pages.url}/stock`, "coldSync", [stockUrl, ids, best], STOCK_CAP_MS);
    log(`stock N=${N}: ${JSON.stringify(result.stock)}`);
    result.stockRelayPeakRssMb = rssMb(stockRelay.child.pid as number, "peak");
  } finally {
    stockRelay.child.kill("SIGTERM");
  }
  result.oms = await omsAt(N);
  if (BIG_N > 0) result.big = await omsAt(BIG_N);
} finally {
  pages.close();
  rmSync(work, { recursive: true, force: true });
}

const oms = (result.oms as { oms: Result; floor: Result; bytesEach: number }) ?? undefined;
const big = result.big as { oms: Result; floor: Result } | undefined;
const stock = result.stock as Result | undefined;
const tuningText = Object.entries((result.stockTuning as Record<string, Result>) ?? {})
  .map(([c, r]) => `${c} ${fmt(r)} ms`)
  .join(", ");
const ratio =
  stock && oms && !stock.error && !oms.oms.error
    ? `${stock.capped ? "< " : ""}${(oms.oms.ms / stock.ms).toFixed(3)}`
    : "–";
const row = (label: string, n: number, r: Result | undefined, floor?: Result) =>
  `| ${label} | ${n} | IndexedDB | ${fmt(r)} | ${floor ? fmt(floor) : "–"} | ${r?.heapMb?.toFixed(0) ?? "–"} | ${r?.bytes === undefined ? "–" : `${(r.bytes / 2 ** 20).toFixed(1)} (${r.records})`} | ${r?.storageMb?.toFixed(1) ?? "–"} |`;
const md = [
  "### Cold sync in Chromium (IndexedDB)",
  "",
  `Chromium headless (${CHROMIUM}), a new profile on disk per measurement; the built package (dist/) bundled into a page with esbuild; both relays in their own process on 127.0.0.1. Times from the client's construction (oms-sync: \`createClient\`; stock: \`new Repo\` and its connection) to every document stored in IndexedDB. The floor: as many records as documents, as many bytes as oms-sync's device holds after its sync (the "stored" column), put into a new IndexedDB database 500 to a transaction (default durability, as both adapters use).`,
  "",
  "| client | N | device storage | ms | floor ms | JS heap after, MB | stored in IndexedDB, MB (values) | origin storage estimate, MB |",
  "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
  row(`stock automerge-repo (concurrency ${result.stockBestConcurrency ?? "–"})`, N, stock),
  row("oms-sync", N, oms?.oms, oms?.floor),
  ...(big ? [row("oms-sync", BIG_N, big.oms, big.floor)] : []),
  "",
  `oms-sync / stock at ${N}: ${ratio}. Stock by \`find\` concurrency at ${TUNE_N}: ${tuningText} (a run slower than ${SWEEP_STOP} × the best so far is stopped: "> ").${stock?.capped ? ` The stock run at ${N} stopped at its cap of ${STOCK_CAP_MS / 1000} s ("> ": a lower bound; \`--full-stock\` lets it finish).` : ""} The two sides end in different states: the stock page holds every document loaded in memory; oms-sync's holds the bytes in IndexedDB and loads a document when it is opened.`,
  "",
];
process.stdout.write(`${JSON.stringify({ ...result, md })}\n`);
process.exit(0);
