// The pages of the example front end: each renders into #main from the client's data.
import {
  type DocId,
  documentTotals,
  formatMoney,
  type GatedFunction,
  type Ledger,
  type OmsClient,
  type OmsDocumentHandle,
  type Order,
  type Quote,
  type SubmissionState,
  sortedLineItems,
  submissionState,
} from "../../src/client/index.js";
import { $, dateTime, esc, plural } from "./ui.js";

export interface ViewContext {
  client: OmsClient;
  /** Registers what to undo when the page changes. */
  onLeave(undo: () => void): void;
  /** The document being edited, for the actions. */
  setCurrent(handle: OmsDocumentHandle<Quote> | OmsDocumentHandle<Order> | undefined): void;
}

const reasonFor = (c: OmsClient, fn: GatedFunction) =>
  c.gate.isEnabled(fn)
    ? ""
    : `Disabled: no complete sync for ${c.gate.state.daysSinceSync} days. Sync to enable it.`;

const disabledBy = (reason: string) => (reason ? `disabled title="${esc(reason)}"` : "");

/** Newest first, then by id: the same order on every render and every device. */
function stable<T extends { id: string; doc: { createdAt?: number } }>(items: T[]): T[] {
  return [...items].sort(
    (a, b) => (b.doc.createdAt ?? 0) - (a.doc.createdAt ?? 0) || (a.id < b.id ? -1 : 1),
  );
}

function statusBadge(state: SubmissionState): string {
  switch (state.status) {
    case "submitted":
      return `<span class="badge submitted">${esc(state.accepted.orderNumber)}</span> <span class="muted">rev. ${state.accepted.revision}</span>`;
    case "pending":
      return `<span class="badge pending">Waiting for sync</span>`;
    case "rejected":
      return `<span class="badge rejected">Rejected</span>`;
    default:
      return `<span class="badge">Draft</span>`;
  }
}

export async function renderList(ctx: ViewContext, kind: "quotes" | "orders"): Promise<void> {
  const c = ctx.client;
  const items = stable<{ id: DocId; doc: Quote | Order }>(
    kind === "quotes" ? await c.quotes.list() : await c.orders.list(),
  );
  const ledger: Ledger | undefined =
    kind === "orders" ? await c.ledger.get().catch(() => undefined) : undefined;
  const rows = items
    .map(({ id, doc }) => {
      const total = formatMoney(documentTotals(doc).total);
      const status =
        kind === "orders"
          ? `<td data-label="Status">${statusBadge(submissionState(id, doc as Order, ledger))}</td>`
          : "";
      return `<tr><td data-label="Project"><a href="#/${kind.slice(0, -1)}/${esc(id)}" data-testid="open-${esc(id)}">${esc(doc.projectName || "(untitled)")}</a></td>${status}<td data-label="Customer">${esc(doc.customer.name)}</td><td class="num" data-label="Lines">${Object.keys(doc.lineItems).length}</td><td class="num" data-label="Total">${esc(total)}</td></tr>`;
    })
    .join("");
  const create =
    kind === "quotes"
      ? `<p><button data-action="new-quote" data-testid="new-quote" ${disabledBy(reasonFor(c, "createQuote"))}>New quote</button> <span class="reason">${esc(reasonFor(c, "createQuote"))}</span></p>`
      : "";
  const columns = kind === "orders" ? 5 : 4;
  $("main").innerHTML = `<div class="card"><h2>My ${kind}</h2>${create}
    <table class="list" data-testid="${kind}-list"><thead><tr><th>Project</th>${kind === "orders" ? "<th>Status</th>" : ""}<th>Customer</th><th class="num">Lines</th><th class="num">Total</th></tr></thead><tbody>${rows || `<tr><td colspan="${columns}" class="muted">None yet.</td></tr>`}</tbody></table></div>`;
}

function linesTable(c: OmsClient, doc: Quote | Order, editable: boolean): string {
  const totals = documentTotals(doc);
  const prices = editable ? disabledBy(reasonFor(c, "changePrices")) : "disabled";
  const rows = sortedLineItems(doc)
    .map((l, i) => {
      const t = totals.lines[i];
      return `<tr data-line="${esc(l.id)}">
        <td data-label="Product">${editable ? `<input data-field="productCode" aria-label="Product" value="${esc(l.productCode)}">` : esc(l.productCode)}</td>
        <td class="num" data-label="Qty">${editable ? `<input class="qty" type="number" min="1" aria-label="Quantity" data-field="quantity" value="${l.quantity}">` : l.quantity}</td>
        <td class="num" data-label="Unit price">${editable ? `<input class="price" type="number" min="0" step="0.01" aria-label="Unit price" data-field="unitPrice" value="${(l.unitPrice / 100).toFixed(2)}" ${prices}>` : formatMoney({ currency: doc.currency, minor: l.unitPrice })}</td>
        <td class="num" data-label="Discount">${editable ? `<input class="disc" type="number" min="0" max="100" step="0.01" aria-label="Discount" data-field="discountBp" value="${(l.discountBp / 100).toFixed(2)}" ${prices}>` : `${(l.discountBp / 100).toFixed(2)}`} %</td>
        <td class="num" data-label="Net">${esc(formatMoney(t?.net ?? { currency: doc.currency, minor: 0 }))}</td>
        <td class="row-actions">${editable ? `<button class="secondary" data-action="remove-line" aria-label="Remove line">✕</button>` : ""}</td></tr>`;
    })
    .join("");
  return `<table class="lines" data-testid="lines"><thead><tr><th>Product</th><th class="num">Qty</th><th class="num">Unit price</th><th class="num">Discount</th><th class="num">Net</th><th></th></tr></thead><tbody>${rows}</tbody></table>
    <table class="totals"><tbody><tr><td class="num">Subtotal</td><td class="num">${esc(formatMoney(totals.subtotal))}</td></tr>
    <tr><td class="num">Discount</td><td class="num">${esc(formatMoney(totals.discount))}</td></tr>
    <tr><td class="num"><strong>Total</strong></td><td class="num" data-testid="total"><strong>${esc(formatMoney(totals.total))}</strong></td></tr></tbody></table>`;
}

function header(doc: Quote | Order, testids: boolean): string {
  const id = (name: string) => (testids ? ` data-testid="${name}"` : "");
  return `<div class="fields"><label>Customer <input data-header="customer"${id("customer")} value="${esc(doc.customer.name)}"></label>
    <label>Project <input data-header="projectName"${id("project")} value="${esc(doc.projectName)}"></label></div>`;
}

export async function renderQuote(ctx: ViewContext, id: string): Promise<void> {
  const c = ctx.client;
  const handle = await c.quotes.open(id);
  ctx.setCurrent(handle);
  const draw = () => {
    const q = handle.doc();
    $("main").innerHTML = `<div class="card" data-testid="quote-editor"><h2>Quote</h2>
      ${header(q, true)}
      ${linesTable(c, q, true)}
      <p class="actions"><button data-action="add-line" data-testid="add-line" ${disabledBy(reasonFor(c, "changePrices"))}>Add line</button>
      <button data-action="to-order" data-testid="to-order" ${disabledBy(reasonFor(c, "createOrder"))}>Convert to order</button>
      <span class="reason">${esc(reasonFor(c, "changePrices"))}</span></p></div>`;
  };
  draw();
  ctx.onLeave(handle.subscribe(draw));
}

/** Why Submit is disabled now, if it is: the gate first (a warning), then the order's state. */
function submitBlocked(
  c: OmsClient,
  state: SubmissionState,
  changes: number,
): { text: string; warning: boolean } {
  const gated = reasonFor(c, "submitOrder");
  if (gated) return { text: gated, warning: true };
  if (state.status === "pending")
    return { text: "Submitted: the next sync sends it.", warning: false };
  if (state.status === "submitted" && changes === 0)
    return { text: `No changes since revision ${state.accepted.revision}.`, warning: false };
  return { text: "", warning: false };
}

export async function renderOrder(ctx: ViewContext, id: string): Promise<void> {
  const c = ctx.client;
  const handle = await c.orders.open(id);
  ctx.setCurrent(handle);
  const draw = async () => {
    const o = handle.doc();
    const state = await c.orders.state(id);
    const changes = state.status === "draft" ? [] : await c.orders.changesSinceSubmission(id);
    const transmitted = await c.orders.transmitted(id).catch(() => undefined);
    const badge =
      state.status === "submitted"
        ? `<span class="badge submitted" data-testid="order-number">${esc(state.accepted.orderNumber)}</span> <span class="muted small">revision ${state.accepted.revision}</span>`
        : state.status === "pending"
          ? `<span class="badge pending" data-testid="order-pending">Submitted, waiting for the next sync</span>`
          : state.status === "rejected"
            ? `<span class="badge rejected">Rejected: ${esc(state.rejected.reason)}</span>`
            : `<span class="badge">Draft</span>`;
    const blocked = submitBlocked(c, state, changes.length);
    $("main").innerHTML = `<div class="card" data-testid="order-view"><h2>Order ${badge}</h2>
      ${header(o, false)}
      ${linesTable(c, o, true)}
      <p class="actions"><button data-action="add-line" ${disabledBy(reasonFor(c, "changePrices"))}>Add line</button>
      <button data-action="submit" data-testid="submit" ${disabledBy(blocked.text)}>${state.status === "submitted" || state.status === "pending" ? "Submit amendment" : "Submit order"}</button>
      <span class="${blocked.warning ? "reason" : "muted"}" data-testid="submit-reason">${esc(blocked.text)}</span></p></div>
      ${transmitted ? `<div class="card"><h3>As transmitted</h3>${linesTable(c, transmitted, false)}<p class="muted" data-testid="changes-since">${changes.length ? `${plural(changes.length, "change")} since submission: submit an amendment to send them.` : "No changes since submission."}</p></div>` : ""}`;
  };
  await draw();
  ctx.onLeave(handle.subscribe(() => void draw()));
  ctx.onLeave(await c.ledger.subscribe(() => void draw()));
}

export async function renderAssistance(ctx: ViewContext): Promise<void> {
  const c = ctx.client;
  const ledger = await c.ledger.get().catch(() => undefined);
  const items = stable(await c.assistance.list());
  const rows = items
    .map(
      ({ id, doc }) =>
        `<tr><td data-label="Subject">${esc(doc.subject)}</td><td data-label="Ticket">${esc(ledger?.assistance[id as never]?.ticketNumber ?? "waiting for sync")}</td></tr>`,
    )
    .join("");
  $("main").innerHTML = `<div class="card"><h2>Assistance</h2>
    <p class="fields"><input id="subject" placeholder="Subject" aria-label="Subject" data-testid="assist-subject"> <button data-action="new-assistance" data-testid="assist-create">Ask for help</button></p>
    <table class="list"><thead><tr><th>Subject</th><th>Ticket</th></tr></thead><tbody>${rows || `<tr><td colspan="2" class="muted">No requests yet.</td></tr>`}</tbody></table></div>`;
}

/** Where an inbox message leads. */
export function hrefOf(ref: { kind: string; id: DocId } | null): string {
  if (!ref) return "";
  return ref.kind === "assistance" ? "#/assistance" : `#/${ref.kind}/${ref.id}`;
}

export async function renderInbox(ctx: ViewContext): Promise<void> {
  const messages = await ctx.client.inbox.messages();
  $("main").innerHTML =
    `<div class="card"><h2>Inbox</h2><table class="list inbox" data-testid="inbox"><tbody>${
      messages
        .map(
          (m) =>
            `<tr class="${m.read ? "read" : "unread"}" data-action="open-message" data-id="${esc(m.id)}" data-href="${esc(hrefOf(m.ref))}" data-testid="message-${esc(m.id)}" tabindex="0">
            <td class="dot">${m.read ? "" : "●"}</td><td data-label="Subject"><strong>${esc(m.subject)}</strong><div class="muted">${esc(m.body)}</div></td><td class="muted" data-label="Received">${esc(dateTime(m.at))}</td></tr>`,
        )
        .join("") || `<tr><td class="muted">No messages.</td></tr>`
    }</tbody></table></div>`;
}

export async function renderQuarantine(ctx: ViewContext): Promise<void> {
  const entries = await ctx.client.quarantine.list();
  const rows = entries
    .map(
      (e) =>
        `<tr data-testid="refused-${esc(e.documentId)}"><td data-label="Document">${esc(e.kind ?? "document")} <code>${esc(e.documentId)}</code></td>
          <td data-label="Why">${e.reasons.map((r) => esc(r.message)).join("<br>")}</td>
          <td data-label="Changes" class="num">${plural(e.unsyncedChanges.length, "change")}</td>
          <td data-label="When" class="muted">${esc(dateTime(e.quarantinedAt))}</td>
          <td class="row-actions"><button class="secondary" data-action="export-refused" data-id="${esc(e.documentId)}">Export</button>
          <button class="secondary" data-action="discard-refused" data-id="${esc(e.documentId)}">Discard…</button></td></tr>`,
    )
    .join("");
  $("main").innerHTML = `<div class="card"><h2>Refused changes</h2>
    <p class="muted">The relay did not accept these changes (access was lost, or a rule forbids them). They are kept on this device: export them and pass them on before you discard them.</p>
    <table class="list" data-testid="quarantine"><thead><tr><th>Document</th><th>Why</th><th class="num">Changes</th><th>When</th><th></th></tr></thead><tbody>${rows || `<tr><td colspan="5" class="muted">Nothing refused.</td></tr>`}</tbody></table></div>`;
}
