import { mkdirSync } from "node:fs";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoWork, manyQuotes, seed } from "../../examples/web/seed.js";
import { type Example, startExample } from "../../examples/web/server.js";
import { PAGE_SIZE } from "../../examples/web/src/views/Catalogue.js";
import { tempDir } from "../integration/helpers.js";

const ARTIFACTS = "tests/browser/artifacts";
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let example: Example;
let browser: Browser;
let data: { dir: string; remove: () => void };

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  data = tempDir("oms-browser-");
  example = await startExample({ dataDir: data.dir });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await example?.close();
  data?.remove();
});

/** A fresh browser profile, signed in as `user`, with the sync indicator watched. */
async function signIn(
  user: string,
  viewport = { width: 1280, height: 720 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  // Remember what the corner showed, in order (a sync can be quick): "offline", "progress",
  // "complete", each time it appears.
  await context.addInitScript(() => {
    const w = window as unknown as { syncLog: string[] };
    w.syncLog = [];
    const shown: Record<string, boolean> = {};
    new MutationObserver(() => {
      for (const [name, id] of [
        ["offline", "sync-offline"],
        ["progress", "sync-progress"],
        ["complete", "sync-complete"],
      ] as const) {
        const now = document.querySelector(`[data-testid=${id}]`) !== null;
        if (now && !shown[name]) w.syncLog.push(name);
        shown[name] = now;
      }
    }).observe(document, { childList: true, subtree: true });
  });
  const page = await context.newPage();
  await page.goto(example.url);
  await page.getByTestId(`sign-in-${user}`).click();
  await page.getByTestId("sync-complete").waitFor();
  return { context, page };
}

const shot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}/${name}.png` });

let quoteId = "";
let orderUrl = "";
let alice: { context: BrowserContext; page: Page };

describe("the example front end in Chromium", () => {
  it("keeps a quote written with the relay down across a reload (IndexedDB)", async () => {
    alice = await signIn("alice");
    await example.stopRelay();
    const { page } = alice;
    await page.getByTestId("new-quote").click();
    await page.getByTestId("quote-editor").waitFor();
    quoteId = decodeURIComponent(new URL(page.url()).hash.split("/")[2] ?? "");
    for (let i = 0; i < 3; i++) await page.getByTestId("add-line").click();
    await page.getByTestId("customer").fill("Hansen Homes");
    await page.getByTestId("customer").press("Tab");
    await page.getByTestId("project").fill("Lake house");
    await page.getByTestId("project").press("Tab");
    await expect.poll(() => page.locator("[data-testid=lines] tbody tr").count()).toBe(3);
    expect(await page.getByTestId("total").textContent()).toBe("$1,377.00");
    await shot(page, "quote-offline");
    await page.reload();
    await page.goto(`${example.url}#/quotes`);
    await expect.poll(() => page.getByTestId("quotes-list").textContent()).toContain("Lake house");
    expect(await page.getByTestId("quotes-list").textContent()).toContain("$1,377.00");
    expect(await page.getByTestId("sync-status").textContent()).toContain("Offline");
  });

  it("keeps an edit when the page reloads 0 ms after it, 30 times in a row", async () => {
    const { page } = alice;
    await page.goto(`${example.url}#/quote/${quoteId}`);
    for (let i = 0; i < 30; i++) {
      await page.getByTestId("quote-editor").waitFor();
      // The last one puts the name back, for the tests after this one.
      const name = i === 29 ? "Lake house" : `Reload ${i}`;
      // The edit and the reload in one task: nothing else runs between them.
      await page.evaluate((value) => {
        (window as unknown as { beforeReload: boolean }).beforeReload = true;
        const input = document.querySelector("[data-testid=project]") as HTMLInputElement;
        input.value = value;
        input.dispatchEvent(new Event("change", { bubbles: true }));
        location.reload();
      }, name);
      // The new page, not the old one (whose field shows the typed value anyway).
      await page.waitForFunction(
        () =>
          !(window as unknown as { beforeReload?: boolean }).beforeReload &&
          document.querySelector("[data-testid=quote-editor]"),
        undefined,
        { timeout: 30_000 },
      );
      expect(await page.getByTestId("project").inputValue()).toBe(name);
    }
  }, 240_000);

  it("syncs when the relay is back: progress, then complete; a fresh profile sees the quote", async () => {
    const { page } = alice;
    await example.startRelay();
    await page.getByTestId("sync-button").click();
    await page.getByTestId("sync-complete").waitFor({ timeout: 30_000 });
    // Since the page last showed it was offline (the client may have reconnected by itself
    // before the click): progress, then complete.
    const log = await page.evaluate(() => (window as unknown as { syncLog: string[] }).syncLog);
    const back = log.slice(log.lastIndexOf("offline") + 1);
    expect(back, log.join(" ")).toContain("progress");
    expect(back.indexOf("progress")).toBeLessThan(back.indexOf("complete"));
    await shot(page, "sync-complete");

    const second = await signIn("alice");
    await second.page.goto(`${example.url}#/quotes`);
    await expect
      .poll(() => second.page.getByTestId("quotes-list").textContent())
      .toContain("Lake house");
    await second.context.close();
  });

  it("submits an order and shows its number", async () => {
    const { page } = alice;
    await page.goto(`${example.url}#/quote/${quoteId}`);
    await page.getByTestId("to-order").click();
    await page.getByTestId("order-view").waitFor();
    orderUrl = page.url();
    await page.getByTestId("submit").click();
    // Submitted: pending, then accepted with nothing changed since; either way not again.
    await expect.poll(() => page.getByTestId("submit").isDisabled()).toBe(true);
    await page.getByTestId("sync-button").click();
    await page.getByTestId("order-number").waitFor({ timeout: 30_000 });
    expect(await page.getByTestId("order-number").textContent()).toBe("SO-000001");
    await expect
      .poll(() => page.getByTestId("submit-reason").textContent())
      .toMatch(/No changes since revision 1/);
    await shot(page, "order-submitted");
  });

  it("lists orders with number and status; an inbox message opens its order and is marked read", async () => {
    const { page } = alice;
    await page.goto(`${example.url}#/orders`);
    await expect.poll(() => page.getByTestId("orders-list").textContent()).toContain("SO-000001");
    expect(await page.getByTestId("sync-last").textContent()).toMatch(
      /Last complete sync: .+ \((just now|\d+ min ago)\)/,
    );
    await page.goto(`${example.url}#/inbox`);
    const unread = page.locator("[data-testid=inbox] tr.unread");
    await expect.poll(() => unread.count(), { timeout: 30_000 }).toBe(1);
    await unread.first().click();
    await page.getByTestId("order-view").waitFor();
    expect(await page.getByTestId("order-number").textContent()).toBe("SO-000001");
    await page.goto(`${example.url}#/inbox`);
    await page.getByTestId("inbox").waitFor();
    await expect.poll(() => unread.count()).toBe(0);
    expect(await page.locator("[data-testid=inbox] tr.read").count()).toBe(1);
  });

  it("never shows the quote to a user of another organization", async () => {
    const oscar = await signIn("oscar");
    await oscar.page.goto(`${example.url}#/quotes`);
    await expect
      .poll(() => oscar.page.getByTestId("quotes-list").textContent())
      .toContain("None yet");
    await oscar.page.goto(`${example.url}#/quote/${quoteId}`);
    await expect
      .poll(() =>
        oscar.page
          .getByTestId("error")
          .textContent()
          .catch(() => ""),
      )
      .toMatch(/may not read it|does not exist/);
    await oscar.context.close();
  });

  it("shows refused changes: a count in the status corner, a page that lists and exports them", async () => {
    const { page } = alice;
    await page.goto(`${example.url}#/quotes`);
    await page.getByTestId("new-quote").click();
    await page.getByTestId("quote-editor").waitFor();
    const id = decodeURIComponent(new URL(page.url()).hash.split("/")[2] ?? "");
    await page.getByTestId("sync-button").click();
    await page.getByTestId("sync-complete").waitFor({ timeout: 30_000 });
    await example.stopRelay();
    await page.getByTestId("project").fill("Edited offline");
    await page.getByTestId("project").press("Tab");
    await example.startRelay();
    await example.relay?.admin.reassign(id, "mona", "territory change");
    await page.getByTestId("sync-button").click();
    await page.getByTestId("sync-quarantined").waitFor({ timeout: 30_000 });
    expect(await page.getByTestId("sync-quarantined").textContent()).toBe("1 refused document");
    await page.getByTestId("sync-quarantined").click();
    await page.getByTestId(`refused-${id}`).waitFor();
    expect(await page.getByTestId(`refused-${id}`).textContent()).toContain("territory change");
    await shot(page, "refused");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.locator(`[data-testid="refused-${id}"] [data-action=export-refused]`).click(),
    ]);
    const exported = JSON.parse(
      await new Promise<string>((resolve, reject) => {
        void download.createReadStream().then((stream) => {
          let text = "";
          stream.on("data", (chunk) => {
            text += chunk;
          });
          stream.on("end", () => resolve(text));
          stream.on("error", reject);
        });
      }),
    );
    expect(exported).toMatchObject({ format: "oms-sync/quarantine@1", documentId: id });
    expect(exported.document.projectName).toBe("Edited offline");
  });

  it("disables submitting after 15 days without a sync, with the reason; a sync lifts it", async () => {
    const { page } = alice;
    await page.goto(orderUrl);
    await page.getByTestId("order-view").waitFor();
    await page.getByTestId("clock-15").click();
    await expect.poll(() => page.getByTestId("submit").isDisabled()).toBe(true);
    expect(await page.getByTestId("submit-reason").textContent()).toMatch(
      /Disabled: no complete sync for 15 days\. Sync to enable it\./,
    );
    expect(await page.getByTestId("gate-banner").textContent()).toMatch(/disabled until you sync/);
    // No green "Synced" beside the warning; the corner says how old the last sync is.
    expect(await page.getByTestId("sync-complete").count()).toBe(0);
    expect(await page.getByTestId("sync-last").textContent()).toMatch(/\(15 days ago\)/);
    await shot(page, "gate-blocked");
    await page.getByTestId("sync-button").click();
    // The gate lifts; the order was submitted and has not changed since, so Submit says that.
    await expect
      .poll(() => page.getByTestId("submit-reason").textContent(), { timeout: 30_000 })
      .toBe("No changes since revision 1.");
    expect(await page.getByTestId("gate-banner").textContent()).toBe("");
    await page.getByTestId("clock-reset").click();
    await alice.context.close();
  });

  it("fits phone, tablet and desktop widths (375, 768, 1280 px): no sideways scrolling, the main actions in reach, the status corner never over the last row", async () => {
    const { context, page } = await signIn("alice", { width: 375, height: 640 });
    for (const width of [375, 768, 1280]) {
      await page.setViewportSize({ width, height: 640 });
      for (const view of [
        "#/quotes",
        `#/quote/${quoteId}`,
        "#/orders",
        "#/inbox",
        "#/all-quotes",
        "#/all-orders",
      ]) {
        await page.goto(`${example.url}${view}`);
        await page.locator("main tbody tr").last().waitFor();
        await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
        const layout = await page.evaluate(() => {
          const rows = document.querySelectorAll("main tr");
          const last = (rows[rows.length - 1] as HTMLElement).getBoundingClientRect();
          const footer = (
            document.querySelector("[data-testid=sync-status]") as HTMLElement
          ).getBoundingClientRect();
          return {
            overflow: document.documentElement.scrollWidth - window.innerWidth,
            overlap: last.bottom > footer.top && last.top < footer.bottom,
          };
        });
        expect(layout, `${width} px ${view}`).toEqual({ overflow: 0, overlap: false });
        // In reach: inside the screen's width, not covered, able to take a click. What every
        // view shows (the views, the sync button) is checked on the first.
        const actions = [
          ...(view === "#/quotes"
            ? [...links.map((l) => `nav-${l}`), "sync-button", "clock-15"]
            : []),
          ...(view === "#/quotes" ? ["new-quote"] : []),
          ...(view.startsWith("#/quote/") ? ["add-line", "to-order", "project"] : []),
          ...(view.startsWith("#/all-") ? ["catalogue-search", "catalogue-sort"] : []),
          ...(view === "#/all-orders" ? ["catalogue-state"] : []),
        ];
        for (const action of actions) {
          const target = page.getByTestId(action);
          await target.scrollIntoViewIfNeeded();
          const box = await target.boundingBox();
          expect(box && box.x >= 0 && box.x + box.width <= width, `${view} ${action}`).toBe(true);
          await target.click({ trial: true, timeout: 5_000 });
        }
        await shot(page, `layout-${width}-${view.split("/")[1]}`);
      }
    }
    await context.close();
  }, 120_000);
});

const links = ["quotes", "orders", "all-quotes", "all-orders", "assistance", "inbox"];

/** The rows the catalogue view shows now. */
const catalogueRows = (page: Page) =>
  page.locator("[data-testid=catalogue-list] tbody tr[data-testid^=row-]");

/** Types a search and waits until the list shows its answer. */
async function search(page: Page, text: string): Promise<void> {
  await page.getByTestId("catalogue-search").fill(text);
  const list = page.getByTestId("catalogue-list");
  await expect
    .poll(async () => [await list.getAttribute("data-query"), await list.getAttribute("aria-busy")])
    .toEqual([text, "false"]);
}

describe("All quotes and All orders in Chromium", () => {
  const paging = manyQuotes("bob", "Paging", PAGE_SIZE + 5);

  beforeAll(async () => {
    await seed(example.relay as NonNullable<Example["relay"]>, [...demoWork, ...paging]);
  }, 120_000);

  it("a manager finds the team's quotes: search, paging with Load more, sort", async () => {
    const { context, page } = await signIn("mona");
    await page.goto(`${example.url}#/all-quotes`);
    await search(page, "Paging");
    await expect.poll(() => catalogueRows(page).count()).toBe(PAGE_SIZE);
    await page.getByTestId("catalogue-more").click();
    await expect.poll(() => catalogueRows(page).count()).toBe(paging.length);
    expect(await page.getByTestId("catalogue-more").count()).toBe(0);
    const ids = await catalogueRows(page).evaluateAll((rows) =>
      rows.map((r) => r.getAttribute("data-testid")),
    );
    expect(new Set(ids).size).toBe(paging.length);
    await page.getByTestId("catalogue-sort").selectOption("customer-desc");
    await expect
      .poll(() => catalogueRows(page).first().textContent())
      .toContain(`Paging customer ${paging.length}`);
    await page.getByTestId("catalogue-sort").selectOption("customer-asc");
    await expect
      .poll(() => catalogueRows(page).first().textContent())
      .toContain("Paging customer 01");
    // A rep's quote and another rep's, both in the manager's team; another dealer's, never.
    await search(page, "Mendes");
    expect(await catalogueRows(page).allTextContents()).toEqual([expect.stringContaining("bob")]);
    await search(page, "Greenleaf");
    expect(await catalogueRows(page).count()).toBe(1);
    await search(page, "Globex");
    expect(await page.getByTestId("catalogue-empty").count()).toBe(1);
    await context.close();
  });

  it("a manager's All orders: state filter, search by order number; a row opens the order, not into My", async () => {
    const { context, page } = await signIn("mona");
    await page.goto(`${example.url}#/all-orders`);
    await page.getByTestId("catalogue-state").selectOption("submitted");
    await expect
      .poll(() => catalogueRows(page).allTextContents())
      .toContainEqual(expect.stringContaining("Classroom wing"));
    const rows = await catalogueRows(page).allTextContents();
    expect(rows.every((r) => /SO-\d{6}/.test(r))).toBe(true);
    expect(rows.some((r) => r.includes("Barn conversion"))).toBe(false);
    expect(rows.some((r) => r.includes("Lobby glazing"))).toBe(false);
    await shot(page, "all-orders-manager");
    const classroom = catalogueRows(page).filter({ hasText: "Classroom wing" });
    const number = (await classroom.locator(".badge").textContent()) ?? "";
    await search(page, number);
    expect(await catalogueRows(page).count()).toBe(1);
    await classroom.getByRole("link").click();
    await page.getByTestId("order-view").waitFor();
    expect(await page.getByTestId("order-number").textContent()).toBe(number);
    await page.goto(`${example.url}#/orders`);
    await expect.poll(() => page.getByTestId("orders-list").textContent()).toContain("None yet");
    await context.close();
  });

  it("a rep sees what the rules give them; a user of another organization sees none of acme's", async () => {
    const bob = await signIn("bob");
    await bob.page.goto(`${example.url}#/all-quotes`);
    await search(bob.page, "Mendes");
    expect(await catalogueRows(bob.page).count()).toBe(1);
    await search(bob.page, "Greenleaf");
    expect(await bob.page.getByTestId("catalogue-empty").count()).toBe(1);
    await bob.context.close();

    const oscar = await signIn("oscar");
    for (const view of ["#/all-quotes", "#/all-orders"]) {
      await oscar.page.goto(`${example.url}${view}`);
      await expect
        .poll(() => catalogueRows(oscar.page).allTextContents())
        .toEqual([expect.stringContaining("Lobby glazing")]);
    }
    await oscar.context.close();
  });

  it("offline, All quotes and All orders say plainly that they need a connection", async () => {
    const { context, page } = await signIn("mona");
    await example.stopRelay();
    try {
      await page.getByTestId("sync-offline").waitFor({ timeout: 30_000 });
      for (const view of ["#/all-quotes", "#/all-orders"]) {
        await page.goto(`${example.url}${view}`);
        expect(await page.getByTestId("catalogue-offline").textContent()).toMatch(
          /needs a connection to the relay, and this device is offline/,
        );
      }
    } finally {
      await example.startRelay();
    }
    await page.getByTestId("sync-button").click();
    await page.getByTestId("sync-complete").waitFor({ timeout: 30_000 });
    await expect.poll(() => catalogueRows(page).count()).toBeGreaterThan(0);
    await context.close();
  });
});
