import * as A from "@automerge/automerge";
import type { DocHandle, DocumentId, Repo } from "@automerge/automerge-repo/slim";
import type { Logger } from "pino";
import { OmsError } from "../docs/errors.js";
import { sameHeads } from "../docs/heads.js";
import type { DocId, MessageId, RequestId } from "../docs/ids.js";
import { postMessage } from "../docs/inbox.js";
import type { DocumentMeta } from "../docs/kinds.js";
import { recordAssistanceReceipt, recordSubmissionOutcome } from "../docs/ledger.js";
import { checkOrderComplete } from "../docs/order.js";
import { own } from "../docs/own.js";
import type { AssistanceRequest, Inbox, Ledger, Order, SubmissionOutcome } from "../docs/types.js";
import { DAY_MS, type GateConfig } from "../policy/staleness-gate.js";
import type { RelayDatabase } from "./database.js";
import { sealOf } from "./receipt-seal.js";
import type { SessionService } from "./session.js";

/** Points between the steps of processing, where tests may kill the relay. */
export type FaultPoint =
  | "request-noted"
  | "outcome-committed"
  | "ledger-written"
  | "ledger-stored"
  | "ticket-committed";

/** The steps of processing that can fail for one row and are retried for that row alone. */
export type ProcessingStep = "decide" | "deliver" | "ticket" | "ticket-deliver";

/** Backoff of a row whose step failed: doubled from `initialMs` at each failure, at most `maxMs`. */
export interface RetryConfig {
  initialMs: number;
  maxMs: number;
}

export interface SubmissionProcessorOptions {
  db: RelayDatabase;
  repo: Repo;
  sessions: SessionService;
  log: Logger;
  gate: GateConfig;
  /** Order numbers, e.g. `SO-000123`; `n` counts per organization from 1. */
  orderNumber: (organization: string, n: number) => string;
  ticketNumber: (organization: string, n: number) => string;
  /** Called at each fault point (tests kill the process there). */
  fault?: (point: FaultPoint) => void;
  /** How long to wait for a noted request to appear in the relay's copy of the order. */
  appearTimeoutMs: number;
  /**
   * Checks a relay-time receipt issued to `userId` of `organization` and returns the relay time
   * it states; throws when it is not one (bad signature, another user, not a receipt).
   */
  verifyReceipt: (userId: string, organization: string, receipt: string) => Promise<number>;
  /** Backoff of a row that failed; default 1 s doubling up to 5 min. */
  retry?: RetryConfig;
  /** Told each time a row fails (metrics). */
  onRowFailed?: (step: ProcessingStep) => void;
  /** The relay's secret: every outcome and ticket written to a ledger is sealed with it. */
  sealSecret?: Uint8Array;
  /** Told after requests were noted (other relay nodes hear of the work, see docs/scale-out.md). */
  onNoted?: () => void;
}

const defaultRetry: RetryConfig = { initialMs: 1_000, maxMs: 300_000 };

interface OutcomeRow {
  request_id: string;
  order_id: string;
  organization: string;
  owner: string;
  requested_by: string;
  status: "accepted" | "duplicate" | "rejected";
  revision: number | null;
  order_number: string | null;
  heads: string | null;
  duplicate_of: string | null;
  code: string | null;
  reason: string | null;
  processed_at: number;
}

/**
 * Gives every submission request and every new assistance request exactly one outcome.
 *
 * 1. The write gate notes each new request id in the database as it accepts the change.
 * 2. The outcome (and the order-number sequence) is decided and committed in one transaction;
 *    a request that already has one is never decided again.
 * 3. The outcome is written to the ledgers and inboxes (idempotent writes) and stored; only then
 *    is it marked delivered. On start, undecided requests and undelivered outcomes are redone.
 * A crash between any two steps therefore neither loses a request nor gives it two outcomes.
 */
export class SubmissionProcessor {
  readonly #o: SubmissionProcessorOptions;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  /** Rows whose step failed: when each may be tried again. In memory: a restart retries all. */
  readonly #waiting = new Map<string, { attempts: number; nextAt: number }>();
  #wakeTimer: ReturnType<typeof setTimeout> | undefined;
  #wakeAt = Number.POSITIVE_INFINITY;

  constructor(options: SubmissionProcessorOptions) {
    this.#o = options;
  }

  /** Records new request ids of an order (called by the write gate) and schedules them. */
  noteRequests(orderId: string, requestIds: readonly string[], now = Date.now()): void {
    // A request seen again (a client resending after a relay crash) is waited for afresh.
    const insert = this.#o.db.prepare(
      `INSERT INTO submission_requests (request_id, order_id, received_at) VALUES (?, ?, ?)
       ON CONFLICT(request_id) DO UPDATE SET received_at = excluded.received_at`,
    );
    this.#o.db.transaction(() => {
      for (const id of requestIds) insert.run(id, orderId, now);
    })();
    this.#o.fault?.("request-noted");
    this.#o.onNoted?.();
    this.schedule();
  }

  /**
   * Told of every change set the write gate accepts: new submission requests in an order are
   * noted, a new assistance request gets a pass.
   */
  onAccepted(documentId: string, meta: DocumentMeta, before: unknown, after: unknown): void {
    if (meta.kind === "order") {
      const was = (before as Order | undefined)?.submissions ?? {};
      const added = Object.keys((after as Order).submissions ?? {}).filter(
        (id) => !Object.hasOwn(was, id),
      );
      if (added.length > 0) this.noteRequests(documentId, added);
    } else if (meta.kind === "assistance" && before === undefined) {
      void this.schedule();
    }
  }

  /** Schedules a pass over everything pending. Passes run one at a time. */
  schedule(): Promise<void> {
    const next = this.#queue
      .then(() => this.#pass())
      .catch((err) => this.#o.log.error({ err }, "processing failed; will retry"));
    this.#queue = next;
    return next;
  }

  /** Waits for the passes scheduled so far. */
  idle(): Promise<void> {
    return this.#queue;
  }

  /** Rows waiting to be retried after a failure. */
  get backlog(): number {
    return this.#waiting.size;
  }

  close(): void {
    this.#closed = true;
    if (this.#wakeTimer) clearTimeout(this.#wakeTimer);
  }

  /**
   * Runs one row's step. A row that fails is logged, counted, and retried later with backoff;
   * it never stops the rows after it (one bad row used to stall every user's outcomes).
   */
  async #attempt(
    step: ProcessingStep,
    id: string,
    context: Record<string, unknown>,
    run: () => Promise<void> | void,
  ): Promise<void> {
    const key = `${step}:${id}`;
    const waiting = this.#waiting.get(key);
    if (waiting && waiting.nextAt > Date.now()) return;
    try {
      await run();
      this.#waiting.delete(key);
    } catch (err) {
      const retry = this.#o.retry ?? defaultRetry;
      const attempts = (waiting?.attempts ?? 0) + 1;
      const delay = Math.min(retry.initialMs * 2 ** Math.min(attempts - 1, 30), retry.maxMs);
      this.#waiting.set(key, { attempts, nextAt: Date.now() + delay });
      this.#o.onRowFailed?.(step);
      this.#o.log.error(
        { err, step, ...context, attempts, retryInMs: delay },
        `submission processing failed at step "${step}" for this row; the other rows go on and this one is retried in ${delay} ms`,
      );
      this.#wake(delay);
    }
  }

  /** Schedules a pass when the earliest waiting row is due. */
  #wake(delay: number): void {
    const at = Date.now() + delay;
    if (this.#closed || at >= this.#wakeAt) return;
    if (this.#wakeTimer) clearTimeout(this.#wakeTimer);
    this.#wakeAt = at;
    this.#wakeTimer = setTimeout(() => {
      this.#wakeAt = Number.POSITIVE_INFINITY;
      this.#wakeTimer = undefined;
      void this.schedule();
    }, delay);
    this.#wakeTimer.unref?.();
  }

  async #pass(): Promise<void> {
    if (this.#closed) return;
    const undecided = this.#o.db
      .prepare<[], { request_id: string; order_id: string; received_at: number }>(
        `SELECT r.request_id, r.order_id, r.received_at FROM submission_requests r
         LEFT JOIN submission_outcomes o ON o.request_id = r.request_id
         WHERE o.request_id IS NULL ORDER BY r.received_at, r.rowid`,
      )
      .all();
    for (const row of undecided) {
      if (this.#closed) return;
      await this.#attempt(
        "decide",
        row.request_id,
        { requestId: row.request_id, orderId: row.order_id },
        () => this.#decide(row.request_id, row.order_id, row.received_at),
      );
    }
    const undelivered = this.#o.db
      .prepare<[], OutcomeRow>(
        "SELECT * FROM submission_outcomes WHERE delivered = 0 ORDER BY processed_at, rowid",
      )
      .all();
    for (const row of undelivered) {
      if (this.#closed) return;
      await this.#attempt(
        "deliver",
        row.request_id,
        { requestId: row.request_id, orderId: row.order_id, organization: row.organization },
        () => this.#deliver(row),
      );
    }
    await this.#tickets();
  }

  async #order(
    orderId: string,
    requestId: string,
    receivedAt: number,
  ): Promise<{ handle: DocHandle<Order>; order: Order } | undefined> {
    const handle = await this.#o.repo
      .find<Order>(orderId as DocumentId, { allowableStates: ["ready", "unavailable"] })
      .catch(() => undefined);
    if (!handle) return undefined;
    // Wait only for a request noted just now; an old one waits for its client to send it again.
    const deadline = receivedAt + this.#o.appearTimeoutMs;
    // The gate notes a request before the Repo applies the change that carries it.
    while (!(handle.isReady() && own(handle.doc().submissions ?? {}, requestId))) {
      if (Date.now() > deadline || this.#closed) return undefined;
      await new Promise((r) => setTimeout(r, 10));
    }
    return { handle, order: handle.doc() };
  }

  async #decide(requestId: string, orderId: string, receivedAt: number): Promise<void> {
    const found = await this.#order(orderId, requestId, receivedAt);
    if (!found) {
      this.#o.log.info(
        { requestId, orderId },
        "submission request not in the relay's copy yet; will retry",
      );
      return;
    }
    const { order } = found;
    const request = own(order.submissions, requestId) as Order["submissions"][RequestId];
    const heads = [...request.heads];
    const now = Date.now();
    const db = this.#o.db;
    const base = {
      request_id: requestId,
      order_id: orderId,
      organization: order.organization,
      owner: order.owner,
      requested_by: request.requestedBy,
      processed_at: now,
    };
    let rejection: { code: string; reason: string } | undefined;
    if (!A.hasHeads(order as A.Doc<Order>, heads)) {
      rejection = {
        code: "HEADS_UNKNOWN",
        reason: "the submitted version of the order is not known to the relay",
      };
    } else {
      const problems = checkOrderComplete(A.view(order as A.Doc<Order>, heads));
      if (problems.length > 0) {
        rejection = {
          code: "INCOMPLETE",
          reason: `the order was not complete when submitted: ${problems.map((p) => p.message).join("; ")}`,
        };
      } else {
        rejection = await this.#judgeGate(request, order.organization);
      }
    }

    db.transaction(() => {
      if (db.prepare("SELECT 1 FROM submission_outcomes WHERE request_id = ?").get(requestId))
        return;
      const insert = db.prepare(
        `INSERT INTO submission_outcomes (request_id, order_id, organization, owner, requested_by, status,
           revision, order_number, heads, duplicate_of, code, reason, processed_at)
         VALUES (@request_id, @order_id, @organization, @owner, @requested_by, @status,
           @revision, @order_number, @heads, @duplicate_of, @code, @reason, @processed_at)`,
      );
      const empty = {
        revision: null,
        order_number: null,
        heads: null,
        duplicate_of: null,
        code: null,
        reason: null,
      };
      if (rejection) {
        insert.run({ ...base, ...empty, status: "rejected", ...rejection });
        return;
      }
      const accepted = db
        .prepare<
          [string],
          { request_id: string; revision: number; order_number: string; heads: string }
        >(
          "SELECT request_id, revision, order_number, heads FROM submission_outcomes WHERE order_id = ? AND status = 'accepted' ORDER BY revision",
        )
        .all(orderId);
      const same = accepted.find((a) => sameHeads(JSON.parse(a.heads) as string[], heads));
      if (same) {
        insert.run({
          ...base,
          ...empty,
          status: "duplicate",
          revision: same.revision,
          order_number: same.order_number,
          duplicate_of: same.request_id,
        });
        return;
      }
      let number = db
        .prepare<[string], { order_number: string }>(
          "SELECT order_number FROM order_numbers WHERE order_id = ?",
        )
        .get(orderId)?.order_number;
      if (!number) {
        const n = this.#next(`order:${order.organization}`);
        number = this.#o.orderNumber(order.organization, n);
        const holder = db
          .prepare<[string, string], { order_id: string }>(
            "SELECT order_id FROM order_numbers WHERE organization = ? AND order_number = ?",
          )
          .get(order.organization, number);
        if (holder) throw numberCollision("orderNumberFormat", order.organization, n, number);
        db.prepare(
          "INSERT INTO order_numbers (order_id, organization, order_number, n) VALUES (?, ?, ?, ?)",
        ).run(orderId, order.organization, number, n);
      }
      insert.run({
        ...base,
        ...empty,
        status: "accepted",
        revision: accepted.length + 1,
        order_number: number,
        heads: JSON.stringify(heads),
      });
    })();
    this.#o.fault?.("outcome-committed");
  }

  /**
   * The staleness gate as the device knew it: the age of its last complete sync when it wrote the
   * request. The time of that sync comes only from the relay's signed receipt, never from the
   * request's own `lastSyncAt`, so a client cannot claim a sync it did not make.
   */
  async #judgeGate(
    request: Order["submissions"][RequestId],
    // The requester may write the order, so belongs to its organization.
    organization: string,
  ): Promise<{ code: string; reason: string } | undefined> {
    const receipt = (request as { lastSyncReceipt?: unknown }).lastSyncReceipt;
    let syncedAt: number | undefined;
    if (receipt !== undefined && receipt !== null && String(receipt) !== "") {
      syncedAt = await this.#o
        .verifyReceipt(String(request.requestedBy), organization, String(receipt))
        .catch(() => undefined);
    }
    if (syncedAt === undefined) {
      return {
        code: "GATE_RECEIPT_INVALID",
        reason:
          "the request carries no valid relay-time receipt of the device's last complete sync (lastSyncReceipt, signed by this relay for the requesting user); sync with the relay and submit again",
      };
    }
    // A request cannot be older than the sync whose receipt it carries: a requestedAt before the
    // receipt's time is a lie, and counts as the receipt's time.
    const age = Math.max(request.requestedAt, syncedAt) - syncedAt;
    if (age > this.#o.gate.blockAfterDays * DAY_MS) {
      return {
        code: "GATE_BLOCKED",
        reason: `the device had not completed a sync for more than ${this.#o.gate.blockAfterDays} days when the order was submitted; sync and submit again`,
      };
    }
    return undefined;
  }

  /** The next value of a sequence; call inside a transaction. */
  #next(name: string): number {
    const db = this.#o.db;
    db.prepare(
      "INSERT INTO sequences (name, value) VALUES (?, 0) ON CONFLICT(name) DO NOTHING",
    ).run(name);
    db.prepare("UPDATE sequences SET value = value + 1 WHERE name = ?").run(name);
    return (
      db
        .prepare<[string], { value: number }>("SELECT value FROM sequences WHERE name = ?")
        .get(name) as { value: number }
    ).value;
  }

  async #userDoc<T>(
    userId: string,
    organization: string,
    kind: "ledger" | "inbox",
  ): Promise<DocHandle<T>> {
    const id = await this.#o.sessions.userDocument(userId, organization, kind);
    return this.#o.repo.find<T>(id as DocumentId);
  }

  async #deliver(row: OutcomeRow): Promise<void> {
    const outcome = this.#sealed(row, toOutcome(row));
    const users = [...new Set([row.owner, row.requested_by])];
    const touched: DocumentId[] = [];
    for (const user of users) {
      const ledger = await this.#userDoc<Ledger>(user, row.organization, "ledger");
      ledger.change((l) => recordSubmissionOutcome(l, row.request_id as RequestId, outcome));
      const inbox = await this.#userDoc<Inbox>(user, row.organization, "inbox");
      inbox.change((i) =>
        postMessage(i, `submission-${row.request_id}` as MessageId, messageFor(row)),
      );
      touched.push(ledger.documentId, inbox.documentId);
    }
    this.#o.fault?.("ledger-written");
    await this.#o.repo.flush(touched);
    this.#o.fault?.("ledger-stored");
    this.#o.db
      .prepare("UPDATE submission_outcomes SET delivered = 1 WHERE request_id = ?")
      .run(row.request_id);
  }

  /**
   * The outcome with the relay's seal, over the outcome, its request, its users and (for the
   * outcome that introduced the order's number) the sequence value behind that number.
   */
  #sealed(row: OutcomeRow, outcome: SubmissionOutcome): SubmissionOutcome {
    const secret = this.#o.sealSecret;
    if (!secret) return outcome;
    const n =
      row.status === "accepted" && row.revision === 1
        ? this.#o.db
            .prepare<[string, string], { n: number | null }>(
              "SELECT n FROM order_numbers WHERE order_id = ? AND order_number = ?",
            )
            .get(row.order_id, row.order_number ?? "")?.n
        : undefined;
    const seal = sealOf(secret, {
      organization: row.organization,
      key: `request:${row.request_id}`,
      entry: outcome as unknown as Record<string, unknown>,
      owner: row.owner,
      requestedBy: row.requested_by,
      ...(n !== null && n !== undefined ? { sequence: n } : {}),
    });
    return { ...outcome, seal };
  }

  /** Tickets for new assistance requests, and their delivery. */
  async #tickets(): Promise<void> {
    const db = this.#o.db;
    const fresh = db
      .prepare<[], { doc_id: string; owner: string; organization: string }>(
        `SELECT d.doc_id, d.owner, d.organization FROM documents d
         LEFT JOIN assistance_tickets t ON t.doc_id = d.doc_id
         WHERE d.kind = 'assistance' AND t.doc_id IS NULL ORDER BY d.created_at`,
      )
      .all();
    for (const doc of fresh) {
      if (this.#closed) return;
      await this.#attempt(
        "ticket",
        doc.doc_id,
        { documentId: doc.doc_id, organization: doc.organization },
        () => {
          db.transaction(() => {
            if (db.prepare("SELECT 1 FROM assistance_tickets WHERE doc_id = ?").get(doc.doc_id))
              return;
            const n = this.#next(`ticket:${doc.organization}`);
            const ticket = this.#o.ticketNumber(doc.organization, n);
            if (
              db
                .prepare(
                  "SELECT 1 FROM assistance_tickets WHERE organization = ? AND ticket_number = ?",
                )
                .get(doc.organization, ticket)
            )
              throw numberCollision("ticketNumberFormat", doc.organization, n, ticket);
            db.prepare(
              "INSERT INTO assistance_tickets (doc_id, organization, owner, ticket_number, received_at, n) VALUES (?, ?, ?, ?, ?, ?)",
            ).run(doc.doc_id, doc.organization, doc.owner, ticket, Date.now(), n);
          })();
          this.#o.fault?.("ticket-committed");
        },
      );
    }
    const undelivered = db
      .prepare<
        [],
        {
          doc_id: string;
          owner: string;
          organization: string;
          ticket_number: string;
          received_at: number;
          n: number | null;
        }
      >("SELECT * FROM assistance_tickets WHERE delivered = 0 ORDER BY received_at, rowid")
      .all();
    for (const t of undelivered) {
      if (this.#closed) return;
      await this.#attempt(
        "ticket-deliver",
        t.doc_id,
        { documentId: t.doc_id, organization: t.organization, ticket: t.ticket_number },
        () => this.#deliverTicket(t),
      );
    }
  }

  async #deliverTicket(t: {
    doc_id: string;
    owner: string;
    organization: string;
    ticket_number: string;
    received_at: number;
    n?: number | null;
  }): Promise<void> {
    const db = this.#o.db;
    const request = await this.#o.repo
      .find<AssistanceRequest>(t.doc_id as DocumentId)
      .then((h) => h.doc())
      .catch(() => undefined);
    const ledger = await this.#userDoc<Ledger>(t.owner, t.organization, "ledger");
    const sealed = { ticketNumber: t.ticket_number, receivedAt: t.received_at };
    const secret = this.#o.sealSecret;
    const seal = secret
      ? sealOf(secret, {
          organization: t.organization,
          key: `ticket:${t.doc_id}`,
          entry: sealed,
          owner: t.owner,
          ...(t.n !== null && t.n !== undefined ? { sequence: t.n } : {}),
        })
      : undefined;
    ledger.change((l) =>
      recordAssistanceReceipt(l, t.doc_id as DocId, {
        ...sealed,
        state: "open",
        ...(seal ? { seal } : {}),
      }),
    );
    const inbox = await this.#userDoc<Inbox>(t.owner, t.organization, "inbox");
    inbox.change((i) =>
      postMessage(i, `assistance-${t.doc_id}` as MessageId, {
        at: t.received_at,
        subject: `Assistance request received: ticket ${t.ticket_number}`,
        body: request
          ? `We received "${request.subject}". We will answer under ticket ${t.ticket_number}.`
          : `Ticket ${t.ticket_number}.`,
        ref: { kind: "assistance", id: t.doc_id as DocId },
      }),
    );
    await this.#o.repo.flush([ledger.documentId, inbox.documentId]);
    db.prepare("UPDATE assistance_tickets SET delivered = 1 WHERE doc_id = ?").run(t.doc_id);
  }
}

function numberCollision(option: string, organization: string, n: number, number: string) {
  return new OmsError(
    "CONFLICT",
    `${option} gave "${number}" for organization ${organization} (n = ${n}), a number that organization already uses; numbers must be unique per organization: fix ${option}. This row is retried with backoff; other rows go on`,
  );
}

function toOutcome(row: OutcomeRow): SubmissionOutcome {
  const base = { orderId: row.order_id as DocId, processedAt: row.processed_at };
  if (row.status === "accepted") {
    return {
      ...base,
      status: "accepted",
      revision: row.revision as number,
      orderNumber: row.order_number as string,
      heads: JSON.parse(row.heads as string) as string[],
    };
  }
  if (row.status === "duplicate") {
    return {
      ...base,
      status: "duplicate",
      duplicateOf: row.duplicate_of as RequestId,
      revision: row.revision as number,
      orderNumber: row.order_number as string,
    };
  }
  return { ...base, status: "rejected", code: row.code as string, reason: row.reason as string };
}

function messageFor(row: OutcomeRow) {
  const ref = { kind: "order" as const, id: row.order_id as DocId };
  if (row.status === "accepted") {
    const what = row.revision === 1 ? "accepted" : `amended (revision ${row.revision})`;
    return {
      at: row.processed_at,
      subject: `Order ${row.order_number} ${what}`,
      body: `Your order was received as ${row.order_number}, revision ${row.revision}.`,
      ref,
    };
  }
  if (row.status === "duplicate") {
    return {
      at: row.processed_at,
      subject: `Order ${row.order_number} already received`,
      body: `This submission repeats revision ${row.revision}; nothing changed.`,
      ref,
    };
  }
  return {
    at: row.processed_at,
    subject: "Order submission rejected",
    body: row.reason ?? "",
    ref,
  };
}
