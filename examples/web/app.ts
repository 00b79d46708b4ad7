// A small OMS front end on the oms-sync client: plain TypeScript and the DOM.
import {
  addLineItem,
  type Clock,
  createClient,
  documentTotals,
  formatMoney,
  type GateState,
  type OmsClient,
  type OmsDocumentHandle,
  type Order,
  type Quote,
  removeLineItem,
  type SyncStatus,
  setHeader,
  sortedLineItems,
  updateLineItem,
} from "../../src/client/index.js";

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

const $ = (id: string) => document.getElementById(id) as HTMLElement;
const esc = (s: unknown) =>
  String(s ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );

// The demo clock: the real one plus an offset the page can move, to show the staleness gate.
const offsetKey = "oms-demo-clock-offset";
const clock: Clock = {
  now: () => Date.now() + Number(localStorage.getItem(offsetKey) ?? 0),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as number),
};

let client: OmsClient | undefined;
let demo: Demo;
const unsubscribers: (() => void)[] = [];

async function loadDemo(): Promise<Demo> {
  try {
    const fresh = (await (await fetch("/demo.json")).json()) as Demo;
    localStorage.setItem("oms-demo", JSON.stringify(fresh));
    return fresh;
  } catch {
    return JSON.parse(localStorage.getItem("oms-demo") ?? "null") as Demo;
  }
}

async function start(): Promise<void> {
  demo = await loadDemo();
  const sub = localStorage.getItem("oms-demo-user");
  const user = demo.users.find((u) => u.sub === sub);
  if (!user) return renderSignIn();
  try {
    client = await createClient({
      url: demo.relayUrl,
      token: user.token,
      storage: { indexedDb: `oms-${user.sub}` },
      clock,
    });
  } catch (err) {
    $("main").innerHTML =
      `<div class="card"><p class="reason">${esc((err as Error).message)}</p><button data-action="sign-out">Back</button></div>`;
    return;
  }
  $("who").innerHTML = `<span class="muted">Demo clock:</span>
    <button class="secondary" data-action="clock" data-days="1" data-testid="clock-1">+1 day</button>
    <button class="secondary" data-action="clock" data-days="15" data-testid="clock-15">+15 days</button>
    <button class="secondary" data-action="clock" data-days="0" data-testid="clock-reset">reset</button>
    · ${esc(user.name)} · ${esc(user.org)} <button class="secondary" data-action="sign-out">Sign out</button>`;
  unsubscribers.push(client.sync.subscribe(renderSync), client.gate.subscribe(renderBanner));
  renderSync(client.sync.status);
  renderBanner(client.gate.state);
  window.addEventListener("hashchange", route);
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

// ─── Sync status, bottom-right ───
function renderSync(s: SyncStatus): void {
  const time = s.lastCompleteSync ? new Date(s.lastCompleteSync).toLocaleTimeString() : "never";
  const body =
    s.state === "syncing" || s.state === "connecting"
      ? `<progress data-testid="sync-progress" max="${Math.max(1, s.progress.documentsTotal)}" value="${s.progress.documentsDone}"></progress> Syncing ${s.progress.documentsDone}/${s.progress.documentsTotal}`
      : s.state === "complete"
        ? `<span class="status-ok" data-testid="sync-complete">complete</span> <span class="muted">${esc(time)}</span>`
        : s.state === "offline"
          ? `Offline — working on this device <span class="muted">(last sync ${esc(time)})</span>`
          : `<span class="reason">Sync error: ${esc(s.error?.message)}</span>`;
  $("sync-status").innerHTML =
    `${body} <button class="secondary" data-action="sync" data-testid="sync-button">Sync</button>`;
}

function renderBanner(g: GateState): void {
  const banner = $("banner");
  banner.className = g.level;
  banner.dataset.testid = "gate-banner";
  banner.textContent =
    g.level === "warn"
      ? `No complete sync for ${g.daysSinceSync} days: sync within ${g.daysLeft} days or some functions will be disabled.`
      : g.level === "blocked"
        ? `No complete sync for ${g.daysSinceSync ?? "many"} days: creating quotes and orders, changing prices and submitting orders are disabled until you sync.`
        : "";
  void route();
}

const reasonFor = (fn: string) =>
  client?.gate.isEnabled(fn)
    ? ""
    : `Disabled: no complete sync for ${client?.gate.state.daysSinceSync} days. Sync to enable it.`;
const gated = (fn: string) => {
  const reason = reasonFor(fn);
  return reason ? `disabled title="${esc(reason)}"` : "";
};

// ─── Routes ───
async function route(): Promise<void> {
  if (!client) return;
  const [, view, id] = (location.hash || "#/quotes").split("/");
  $("nav").innerHTML = ["quotes", "orders", "assistance", "inbox"]
    .map(
      (v) =>
        `<a href="#/${v}" class="${v === view || `${v.slice(0, -1)}` === view ? "active" : ""}">${v[0]?.toUpperCase()}${v.slice(1)}</a>`,
    )
    .join("");
  for (const u of unsubscribers.splice(2)) u();
  try {
    if (view === "quote" && id) return await renderQuote(id);
    if (view === "order" && id) return await renderOrder(id);
    if (view === "orders") return await renderList("orders");
    if (view === "assistance") return await renderAssistance();
    if (view === "inbox") return await renderInbox();
    return await renderList("quotes");
  } catch (err) {
    $("main").innerHTML =
      `<div class="card"><p class="reason" data-testid="error">${esc((err as Error).message)}</p></div>`;
  }
}

async function renderList(kind: "quotes" | "orders"): Promise<void> {
  const c = client as OmsClient;
  const items = kind === "quotes" ? await c.quotes.list() : await c.orders.list();
  const rows = items
    .map(({ id, doc }) => {
      const total = formatMoney(documentTotals(doc).total);
      return `<tr><td><a href="#/${kind.slice(0, -1)}/${esc(id)}" data-testid="open-${esc(id)}">${esc(doc.projectName || "(untitled)")}</a></td><td>${esc(doc.customer.name)}</td><td class="num">${Object.keys(doc.lineItems).length}</td><td class="num">${esc(total)}</td></tr>`;
    })
    .join("");
  const create =
    kind === "quotes"
      ? `<button data-action="new-quote" data-testid="new-quote" ${gated("createQuote")}>New quote</button><span class="reason">${esc(reasonFor("createQuote"))}</span>`
      : "";
  $("main").innerHTML = `<div class="card"><h2>My ${kind}</h2>${create}
    <table data-testid="${kind}-list"><thead><tr><th>Project</th><th>Customer</th><th class="num">Lines</th><th class="num">Total</th></tr></thead><tbody>${rows || `<tr><td colspan="4" class="muted">None yet.</td></tr>`}</tbody></table></div>`;
}

function linesTable(doc: Quote | Order, editable: boolean): string {
  const totals = documentTotals(doc);
  const prices = editable ? gated("changePrices") : "disabled";
  const rows = sortedLineItems(doc)
    .map((l, i) => {
      const t = totals.lines[i];
      return `<tr data-line="${esc(l.id)}">
        <td>${editable ? `<input data-field="productCode" value="${esc(l.productCode)}">` : esc(l.productCode)}</td>
        <td class="num">${editable ? `<input class="qty" type="number" min="1" data-field="quantity" value="${l.quantity}">` : l.quantity}</td>
        <td class="num">${editable ? `<input class="price" type="number" min="0" step="0.01" data-field="unitPrice" value="${(l.unitPrice / 100).toFixed(2)}" ${prices}>` : formatMoney({ currency: doc.currency, minor: l.unitPrice })}</td>
        <td class="num">${editable ? `<input class="disc" type="number" min="0" max="100" step="0.01" data-field="discountBp" value="${(l.discountBp / 100).toFixed(2)}" ${prices}>` : `${(l.discountBp / 100).toFixed(2)}`} %</td>
        <td class="num">${esc(formatMoney(t?.net ?? { currency: doc.currency, minor: 0 }))}</td>
        <td>${editable ? `<button class="secondary" data-action="remove-line">✕</button>` : ""}</td></tr>`;
    })
    .join("");
  return `<table data-testid="lines"><thead><tr><th>Product</th><th class="num">Qty</th><th class="num">Unit price</th><th class="num">Discount</th><th class="num">Net</th><th></th></tr></thead><tbody>${rows}</tbody>
    <tfoot class="totals"><tr><td colspan="4" class="num">Subtotal</td><td class="num">${esc(formatMoney(totals.subtotal))}</td></tr>
    <tr><td colspan="4" class="num">Discount</td><td class="num">${esc(formatMoney(totals.discount))}</td></tr>
    <tr><td colspan="4" class="num"><strong>Total</strong></td><td class="num" data-testid="total"><strong>${esc(formatMoney(totals.total))}</strong></td></tr></tfoot></table>`;
}

let current: OmsDocumentHandle<Quote> | OmsDocumentHandle<Order> | undefined;

async function renderQuote(id: string): Promise<void> {
  const handle = await (client as OmsClient).quotes.open(id);
  current = handle;
  const draw = () => {
    const q = handle.doc();
    $("main").innerHTML = `<div class="card" data-testid="quote-editor"><h2>Quote</h2>
      <p><label>Customer <input data-header="customer" data-testid="customer" value="${esc(q.customer.name)}"></label>
      <label>Project <input data-header="projectName" data-testid="project" value="${esc(q.projectName)}"></label></p>
      ${linesTable(q, true)}
      <p><button data-action="add-line" data-testid="add-line" ${gated("changePrices")}>Add line</button>
      <button data-action="to-order" data-testid="to-order" ${gated("createOrder")}>Convert to order</button>
      <span class="reason">${esc(reasonFor("changePrices"))}</span></p></div>`;
  };
  draw();
  unsubscribers.push(handle.subscribe(draw));
}

async function renderOrder(id: string): Promise<void> {
  const c = client as OmsClient;
  const handle = await c.orders.open(id);
  current = handle;
  const draw = async () => {
    const o = handle.doc();
    const state = await c.orders.state(id);
    const badge =
      state.status === "submitted"
        ? `<span class="badge submitted" data-testid="order-number">${esc(state.accepted.orderNumber)}</span> revision ${state.accepted.revision}`
        : state.status === "pending"
          ? `<span class="badge pending" data-testid="order-pending">Submitted, waiting for the next sync</span>`
          : state.status === "rejected"
            ? `<span class="badge rejected">Rejected: ${esc(state.rejected.reason)}</span>`
            : `<span class="badge">Draft</span>`;
    const changes = state.status === "draft" ? [] : await c.orders.changesSinceSubmission(id);
    const transmitted = await c.orders.transmitted(id);
    $("main").innerHTML = `<div class="card" data-testid="order-view"><h2>Order ${badge}</h2>
      <p><label>Customer <input data-header="customer" value="${esc(o.customer.name)}"></label>
      <label>Project <input data-header="projectName" value="${esc(o.projectName)}"></label></p>
      ${linesTable(o, true)}
      <p><button data-action="submit" data-testid="submit" ${gated("submitOrder")}>${state.status === "submitted" ? "Submit amendment" : "Submit order"}</button>
      <span class="reason" data-testid="submit-reason">${esc(reasonFor("submitOrder"))}</span></p></div>
      ${transmitted ? `<div class="card"><h3>As transmitted</h3>${linesTable(transmitted, false)}<p class="muted">${changes.length ? `${changes.length} changes since submission: submit an amendment to send them.` : "No changes since submission."}</p></div>` : ""}`;
  };
  await draw();
  unsubscribers.push(handle.subscribe(() => void draw()));
  unsubscribers.push(await c.ledger.subscribe(() => void draw()));
}

async function renderAssistance(): Promise<void> {
  const c = client as OmsClient;
  const ledger = await c.ledger.get().catch(() => undefined);
  const items = await c.assistance.list();
  $("main").innerHTML = `<div class="card"><h2>Assistance</h2>
    <p><input id="subject" placeholder="Subject" data-testid="assist-subject"> <button data-action="new-assistance" data-testid="assist-create">Ask for help</button></p>
    <table><tbody>${items.map(({ id, doc }) => `<tr><td>${esc(doc.subject)}</td><td>${esc(ledger?.assistance[id as never]?.ticketNumber ?? "waiting for sync")}</td></tr>`).join("")}</tbody></table></div>`;
}

async function renderInbox(): Promise<void> {
  const messages = await (client as OmsClient).inbox.messages();
  $("main").innerHTML = `<div class="card"><h2>Inbox</h2><table data-testid="inbox"><tbody>${
    messages
      .map(
        (m) =>
          `<tr><td>${m.read ? "" : "●"}</td><td>${esc(m.subject)}</td><td class="muted">${esc(new Date(m.at).toLocaleString())}</td></tr>`,
      )
      .join("") || `<tr><td class="muted">No messages.</td></tr>`
  }</tbody></table></div>`;
}

// ─── Actions ───
document.addEventListener("click", async (event) => {
  const target = (event.target as HTMLElement).closest("[data-action]") as HTMLElement | null;
  if (!target) return;
  const c = client;
  try {
    switch (target.dataset.action) {
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
        return renderBanner((c as OmsClient).gate.state);
      }
      case "sync":
        return await c?.sync.now().catch((err) => alert((err as Error).message));
      case "new-quote": {
        const q = await (c as OmsClient).quotes.create({
          currency: "USD",
          projectName: "New project",
        });
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
        const o = await (c as OmsClient).orders.createFromQuote(
          (current as OmsDocumentHandle<Quote>).id,
        );
        location.hash = `#/order/${o.id}`;
        return;
      }
      case "submit":
        await (c as OmsClient).orders.submit((current as OmsDocumentHandle<Order>).id);
        return void route();
      case "new-assistance": {
        const subject =
          (document.getElementById("subject") as HTMLInputElement).value || "Help with a project";
        await (c as OmsClient).assistance.create({ subject });
        return void route();
      }
    }
  } catch (err) {
    alert((err as Error).message);
  }
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
    alert((err as Error).message);
    void route();
  }
});

void start();
