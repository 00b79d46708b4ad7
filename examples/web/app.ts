// A small OMS front end on the oms-sync client: plain TypeScript and the DOM.
import {
  addLineItem,
  type Clock,
  createClient,
  type MessageId,
  type OmsClient,
  type OmsDocumentHandle,
  type Order,
  type Quote,
  removeLineItem,
  setHeader,
  updateLineItem,
} from "../../src/client/index.js";
import { renderBanner, renderSync } from "./status.js";
import { $, clearNotice, download, esc, showNotice } from "./ui.js";
import {
  renderAssistance,
  renderInbox,
  renderList,
  renderOrder,
  renderQuarantine,
  renderQuote,
  type ViewContext,
} from "./views.js";

interface DemoUser {
  sub: string;
  name: string;
  org: string;
  token: string;
  offline: boolean;
}
interface Demo {
  relayUrl: string;
  users: DemoUser[];
}

// The demo clock: the real one plus an offset the page can move, to show the staleness gate.
const offsetKey = "oms-demo-clock-offset";
const clock: Clock = {
  now: () => Date.now() + Number(localStorage.getItem(offsetKey) ?? 0),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as number),
};

let client: OmsClient | undefined;
let demo: Demo;
let current: OmsDocumentHandle<Quote> | OmsDocumentHandle<Order> | undefined;
let leaving: (() => void)[] = [];

async function loadDemo(): Promise<Demo> {
  try {
    const fresh = (await (await fetch("/demo.json")).json()) as Demo;
    localStorage.setItem("oms-demo", JSON.stringify(fresh));
    return fresh;
  } catch {
    return JSON.parse(localStorage.getItem("oms-demo") ?? "null") as Demo;
  }
}

function drawStatus(): void {
  if (client) renderSync(client.sync.status, client.gate.state, clock.now());
}

async function start(): Promise<void> {
  demo = await loadDemo();
  const sub = localStorage.getItem("oms-demo-user");
  const user = demo.users.find((u) => u.sub === sub);
  if (!user) return renderSignIn();
  try {
    // Each user gets a partition of the device of their own (database `oms-sync:<org>:<user>`).
    client = await createClient({ url: demo.relayUrl, token: user.token, clock });
  } catch (err) {
    $("main").innerHTML =
      `<div class="card"><p class="reason" data-testid="error">${esc((err as Error).message)}</p><button data-action="sign-out">Back</button></div>`;
    return;
  }
  const c = client;
  $("who").innerHTML = `<span class="demo-clock"><span class="muted">Demo clock:</span>
    <button class="secondary" data-action="clock" data-days="1" data-testid="clock-1">+1 day</button>
    <button class="secondary" data-action="clock" data-days="15" data-testid="clock-15">+15 days</button>
    <button class="secondary" data-action="clock" data-days="0" data-testid="clock-reset">reset</button></span>
    <span>${esc(user.name)} · ${esc(user.org)} <button class="secondary" data-action="sign-out">Sign out</button></span>`;
  c.sync.subscribe(() => {
    drawStatus();
    void drawNav();
  });
  c.gate.subscribe((g) => {
    renderBanner(g);
    drawStatus();
    void route();
  });
  // The age of the last sync moves on by itself.
  setInterval(drawStatus, 30_000);
  drawStatus();
  renderBanner(c.gate.state);
  window.addEventListener("hashchange", () => void route());
  await route();
}

function renderSignIn(): void {
  $("nav").innerHTML = "";
  $("who").textContent = "";
  $("main").innerHTML = `<div class="card users"><h2>Sign in</h2>${demo.users
    .map(
      (u) =>
        `<button data-action="sign-in" data-user="${esc(u.sub)}" data-testid="sign-in-${esc(u.sub)}">${esc(u.name)} — ${esc(u.org)}</button>`,
    )
    .join("")}</div>`;
}

const views = ["quotes", "orders", "assistance", "inbox"] as const;

async function drawNav(): Promise<void> {
  const c = client;
  if (!c) return;
  const [, view] = (location.hash || "#/quotes").split("/");
  const unread = (await c.inbox.messages().catch(() => [])).filter((m) => !m.read).length;
  const refused = c.sync.status.quarantined;
  const label = (v: string) =>
    `${v[0]?.toUpperCase()}${v.slice(1)}${v === "inbox" && unread > 0 ? ` (${unread})` : ""}`;
  const links = views.map(
    (v) =>
      `<a href="#/${v}" class="${v === view || v.slice(0, -1) === view ? "active" : ""}">${label(v)}</a>`,
  );
  if (refused > 0 || view === "quarantine")
    links.push(
      `<a href="#/quarantine" class="${view === "quarantine" ? "active" : ""}">Refused (${refused})</a>`,
    );
  $("nav").innerHTML = links.join("");
}

const ctx = (): ViewContext => ({
  client: client as OmsClient,
  onLeave: (undo) => leaving.push(undo),
  setCurrent: (handle) => {
    current = handle;
  },
});

async function route(): Promise<void> {
  if (!client) return;
  const [, view, id] = (location.hash || "#/quotes").split("/");
  void drawNav();
  for (const undo of leaving) undo();
  leaving = [];
  current = undefined;
  try {
    if (view === "quote" && id) return await renderQuote(ctx(), id);
    if (view === "order" && id) return await renderOrder(ctx(), id);
    if (view === "orders") return await renderList(ctx(), "orders");
    if (view === "assistance") return await renderAssistance(ctx());
    if (view === "inbox") return await renderInbox(ctx());
    if (view === "quarantine") return await renderQuarantine(ctx());
    return await renderList(ctx(), "quotes");
  } catch (err) {
    $("main").innerHTML =
      `<div class="card"><p class="reason" data-testid="error">${esc((err as Error).message)}</p></div>`;
  }
}

// ─── Actions ───
async function act(target: HTMLElement): Promise<void> {
  const c = client as OmsClient;
  switch (target.dataset.action) {
    case "dismiss":
      return clearNotice();
    case "sign-in":
      localStorage.setItem("oms-demo-user", target.dataset.user as string);
      return location.reload();
    case "sign-out":
      localStorage.removeItem("oms-demo-user");
      await client?.close();
      location.hash = "";
      return location.reload();
    case "clock": {
      const days = Number(target.dataset.days);
      if (days === 0) localStorage.removeItem(offsetKey);
      else
        localStorage.setItem(
          offsetKey,
          String(Number(localStorage.getItem(offsetKey) ?? 0) + days * 86_400_000),
        );
      renderBanner(c.gate.state);
      drawStatus();
      return route();
    }
    case "sync":
      await c.sync.now();
      return showNotice("Sync complete.", "info");
    case "new-quote": {
      const q = await c.quotes.create({ currency: "USD", projectName: "New project" });
      location.hash = `#/quote/${q.id}`;
      return;
    }
    case "add-line":
      current?.change((d) => {
        addLineItem(d, {
          productCode: "DH-3046",
          description: "Double hung",
          quantity: 1,
          unitPrice: 45_900,
        });
      });
      return;
    case "remove-line":
      current?.change((d) => removeLineItem(d, target.closest("tr")?.dataset.line as never));
      return;
    case "to-order": {
      const o = await c.orders.createFromQuote((current as OmsDocumentHandle<Quote>).id);
      location.hash = `#/order/${o.id}`;
      return;
    }
    case "submit":
      target.setAttribute("disabled", "");
      await c.orders.submit((current as OmsDocumentHandle<Order>).id);
      return route();
    case "new-assistance": {
      const subject =
        (document.getElementById("subject") as HTMLInputElement).value || "Help with a project";
      await c.assistance.create({ subject });
      return route();
    }
    case "open-message": {
      await c.inbox.markRead(target.dataset.id as MessageId);
      if (target.dataset.href) location.hash = target.dataset.href;
      else await route();
      return;
    }
    case "export-refused": {
      const id = target.dataset.id as string;
      download(`refused-${id}.json`, await c.quarantine.export(id));
      return;
    }
    case "discard-refused": {
      // Two steps instead of a blocking confirm(): the button asks once more.
      if (target.dataset.armed !== "yes") {
        target.dataset.armed = "yes";
        target.textContent = "Discard for good";
        return;
      }
      await c.quarantine.discard(target.dataset.id as string);
      return route();
    }
  }
}

document.addEventListener("click", (event) => {
  const target = (event.target as HTMLElement).closest("[data-action]") as HTMLElement | null;
  if (!target) return;
  act(target).catch((err) => {
    showNotice((err as Error).message);
    void route();
  });
});

document.addEventListener("keydown", (event) => {
  const target = event.target as HTMLElement;
  if (event.key === "Enter" && target.dataset.action === "open-message") target.click();
});

document.addEventListener("change", (event) => {
  const input = event.target as HTMLInputElement;
  try {
    if (input.dataset.header) {
      const value = input.value;
      current?.change((d) =>
        setHeader(
          d,
          input.dataset.header === "customer"
            ? { customer: { name: value } }
            : { projectName: value },
        ),
      );
    } else if (input.dataset.field) {
      const id = input.closest("tr")?.dataset.line as never;
      const field = input.dataset.field;
      const value =
        field === "productCode"
          ? input.value
          : Math.round(Number(input.value) * (field === "quantity" ? 1 : 100));
      current?.change((d) => updateLineItem(d, id, { [field]: value }));
    }
  } catch (err) {
    showNotice((err as Error).message);
    void route();
  }
});

void start();
