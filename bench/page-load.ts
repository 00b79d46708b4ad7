// `npm run bench` scenario 9: how long the example page takes to load, from its production build
// (`vite build`, as users get it) in real Chromium. Cold: a fresh browser profile (no cache, no
// IndexedDB) until the sign-in buttons show. Warm: a signed-in offline rep reloads until "My
// quotes" shows from the device. Writes bench/results/page-load.{json,md} (quick runs: the
// untracked bench/results/quick/) and prints its summary as the last line.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startExample } from "../examples/web/server.js";

const quick = process.argv.includes("--quick");
const runs = quick ? 3 : 15;
const dataDir = mkdtempSync(join(tmpdir(), "oms-page-load-"));
const example = await startExample({ dataDir });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};
const summary = (xs: number[]) => ({
  p50Ms: quantile(xs, 0.5),
  p90Ms: quantile(xs, 0.9),
  maxMs: Math.max(...xs),
});

try {
  const dist = join("examples", "web", "dist", "assets");
  const bytes: Record<string, number> = {};
  for (const f of readdirSync(dist)) {
    const ext = f.slice(f.lastIndexOf(".") + 1);
    bytes[ext] = (bytes[ext] ?? 0) + statSync(join(dist, f)).size;
  }
  const kib = (ext: string) => `${((bytes[ext] ?? 0) / 1024).toFixed(0)} KiB`;
  const cold: number[] = [];
  const coldDcl: number[] = [];
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const t0 = performance.now();
    await page.goto(example.url);
    await page.getByTestId("sign-in-alice").waitFor();
    cold.push(performance.now() - t0);
    coldDcl.push(
      await page.evaluate(
        () =>
          (performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming)
            .domContentLoadedEventEnd,
      ),
    );
    await context.close();
  }
  // Warm: one profile signed in as Alice with a few quotes on the device, reloaded.
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(example.url);
  await page.getByTestId("sign-in-alice").click();
  await page.getByTestId("sync-complete").waitFor({ timeout: 60_000 });
  for (let i = 0; i < 3; i++) {
    await page.getByTestId("new-quote").click();
    await page.getByTestId("quote-editor").waitFor();
    await page.goto(`${example.url}#/quotes`);
  }
  const warm: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await page.reload();
    await page.locator("[data-testid=quotes-list] tbody tr").nth(2).waitFor();
    warm.push(performance.now() - t0);
  }
  await context.close();
  const result = {
    quick,
    date: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, load average ${loadavg()[0]?.toFixed(1)} at the end`,
    runs,
    assetsBytes: bytes,
    cold: { ...summary(cold), domContentLoadedP50Ms: quantile(coldDcl, 0.5) },
    warm: summary(warm),
  };
  const md = [
    "# Page load of the example (production build, Chromium headless)",
    "",
    `${result.date}; ${result.machine}; ${runs} loads each. Assets, uncompressed: JS ${kib("js")}, CSS ${kib("css")}, automerge's wasm ${kib("wasm")} (a file of its own, compiled while it streams and cached by the browser).`,
    "",
    "| load | p50 ms | p90 ms | max ms |",
    "| --- | ---: | ---: | ---: |",
    `| cold: fresh profile to the sign-in screen (DOMContentLoaded p50 ${result.cold.domContentLoadedP50Ms.toFixed(0)} ms) | ${result.cold.p50Ms.toFixed(0)} | ${result.cold.p90Ms.toFixed(0)} | ${result.cold.maxMs.toFixed(0)} |`,
    `| warm: signed-in offline rep, reload to "My quotes" from the device | ${result.warm.p50Ms.toFixed(0)} | ${result.warm.p90Ms.toFixed(0)} | ${result.warm.maxMs.toFixed(0)} |`,
    "",
  ].join("\n");
  const outDir = quick ? "bench/results/quick" : "bench/results";
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "page-load.json"), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(outDir, "page-load.md"), md);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await browser.close();
  await example.close();
  rmSync(dataDir, { recursive: true, force: true });
}
