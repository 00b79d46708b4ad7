// `npm run example:screenshot`: the README's picture, made again from scratch. Starts the example
// on the production build in a temporary folder, writes the demo's work (examples/web/seed.ts),
// signs Mona (a manager) in and photographs her "All orders" view into docs/screenshot.png.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { seed } from "./seed.js";
import { startExample } from "./server.js";

const out = fileURLToPath(new URL("../../docs/screenshot.png", import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), "oms-screenshot-"));
const example = await startExample({ dataDir });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
try {
  await seed(example.relay as NonNullable<typeof example.relay>, undefined, { inOrder: true });
  const page = await browser.newPage({ viewport: { width: 1200, height: 780 } });
  await page.goto(example.url);
  await page.getByTestId("sign-in-mona").click();
  await page.getByTestId("sync-complete").waitFor({ timeout: 60_000 });
  await page.goto(`${example.url}#/all-orders`);
  await page.locator("[data-testid=catalogue-list] tbody tr[data-testid^=row-]").first().waitFor();
  await page.screenshot({ path: out });
  process.stdout.write(`wrote ${out}\n`);
} finally {
  await browser.close();
  await example.close();
  rmSync(dataDir, { recursive: true, force: true });
}
