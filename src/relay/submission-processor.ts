import * as A from "@automerge/automerge";
import type { DocHandle, DocumentId, Repo } from "@automerge/automerge-repo/slim";
import type { Logger } from "pino";
import type { DocId, MessageId, RequestId } from "../docs/ids.js";
import { postMessage } from "../docs/inbox.js";
import type { DocumentMeta } from "../docs/kinds.js";
import { recordAssistanceReceipt, recordSubmissionOutcome } from "../docs/ledger.js";
import { checkOrderComplete } from "../docs/order.js";
import { own } from "../docs/own.js";
import type { AssistanceRequest, Inbox, Ledger, Order, SubmissionOutcome } from "../docs/types.js";
import { DAY_MS, type GateConfig } from "../policy/staleness-gate.js";
import type { DocumentWriter } from "./cluster/cluster.js";
import { sealOf } from "./receipt-seal.js";
import type { SessionService } from "./session.js";
import type { OutcomeRow, SubmissionStore, TicketRow, WorkKind } from "./store/types.js";

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
  store: SubmissionStore;
  /**
   * This node's name in work claims, the same across its restarts so that it takes its own
   * claims back at once; default "local" (one process on its own store).
   */
  node?: string;
  /**
   * How long a claim on a row lasts, in ms (default 30 s): another node takes over the rows of a
   * node that died after this. Longer than one row's processing (`appearTimeoutMs` included).
   */
  claimLeaseMs?: number;
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
  /**
   * Writes ledgers and inboxes as their one writer across relay nodes (docs/scale-out.md);
   * default: `handle.change` (one node).
   */
  write?: DocumentWriter;
  /**
   * Told when there is work other relay nodes may take (docs/scale-out.md): requests were noted,
   * or this node released a request it could not decide (it does not hold the order yet).
   */
  onNoted?: () => void;
}

const defaultRetry: RetryConfig = { initialMs: 1_000, maxMs: 300_000 };
const defaultClaimLeaseMs = 30_000;
/** Rows of each kind one pass takes at most (the next pass takes the rest). */
const passBatch = 500;
/**
 * Rows a node claims at once, just before working on them. A claim's lease covers the work on a
 * few rows: a node that claimed a whole batch held rows it would reach only minutes later
 * (a delivery takes tens of ms) while the other nodes idled, and the lease ran out under it.
 */
const claimSlice = 8;

/**
 * Gives every submission request and every new assistance request exactly one outcome.
 *
 * 1. The write gate notes each new request id in the store as it accepts the change.
 * 2. The outcome (and the order-number sequence) is decided and committed in one transaction;
 *    a request that already has one is never decided again. Each row is claimed first, so two
 *    relay nodes on one store do not work on it at once (see `SubmissionStore`).
 * 3. The outcome is written to the ledgers and inboxes (idempotent writes) and stored; only then
 *    is it marked delivered. On start, undecided requests and undelivered outcomes are redone.
 * A crash between any two steps therefore neither loses a request nor gives it two outcomes.
 */
export class SubmissionProcessor {
  readonly #o: SubmissionProcessorOptions;
  #queue: Promise<void> = Promise.resolve();
  /** The pass scheduled and not started yet, if any. */
  #queued: Promise<void> | undefined;
  #closed = false;
  /** Rows whose step failed: when each may be tried again. In memory: a restart retries all. */
  readonly #waiting = new Map<string, { attempts: number; nextAt: number }>();
  #wakeTimer: ReturnType<typeof setTimeout> | undefined;
  #wakeAt = Number.POSITIVE_INFINITY;

  readonly #node: string;

  constructor(options: SubmissionProcessorOptions) {
    this.#o = options;
    this.#node = options.node ?? "local";
  }

  /** Records new request ids of an order (called by the write gate) and schedules them. */
  async noteRequests(orderId: string, requestIds: readonly string[], now = Date.now()) {
    // A request seen again (a client resending after a relay crash) is waited for afresh.
    await this.#o.store.noteRequests(orderId, requestIds, now);
    this.#o.fault?.("request-noted");
    this.#o.onNoted?.();
    void this.schedule();
  }

  /**
   * Told of every change set the write gate accepts: new submission requests in an order are
   * noted, a new assistance request gets a pass.
   */
  async onAccepted(
    documentId: string,
    meta: DocumentMeta,
    before: unknown,
    after: unknown,
  ): Promise<void> {
    if (meta.kind === "order") {
      const was = (before as Order | undefined)?.submissions ?? {};
      const added = Object.keys((after as Order).submissions ?? {}).filter(
        (id) => !Object.hasOwn(was, id),
      );
      if (added.length > 0) await this.noteRequests(documentId, added);
    } else if (meta.kind === "assistance" && before === undefined) {
      void this.schedule();
    }
  }

  /**
   * Schedules a pass over everything pending. Passes run one at a time; a pass that is queued and
   * not yet started serves every call until it starts (each notice of work from another node and
   * each timer tick used to queue one more pass behind a long one).
   */
  schedule(): Promise<void> {
    if (this.#queued) return this.#queued;
    const next = this.#queue
      .then(() => {
        this.#queued = undefined;
        return this.#pass();
      })
      .catch((err) => this.#o.log.error({ err }, "processing failed; will retry"));
    this.#queued = next;
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

  /**
   * Runs `work` on each row of `rows` this node can claim, claiming `claimSlice` rows at a time
   * just before working on them (rows another node holds are skipped), and skipping rows whose
   * retry is not due yet so that they are not claimed for nothing.
   */
  async #claimed<R>(
    kind: WorkKind,
    rows: readonly R[],
    idOf: (row: R) => string,
    work: (row: R) => Promise<void>,
  ): Promise<void> {
    const now = Date.now();
    const due = rows.filter((r) => !((this.#waiting.get(`${kind}:${idOf(r)}`)?.nextAt ?? 0) > now));
    const lease = this.#o.claimLeaseMs ?? defaultClaimLeaseMs;
    for (let i = 0; i < due.length; i += claimSlice) {
      if (this.#closed) return;
      const slice = due.slice(i, i + claimSlice);
      const mine = new Set(
        await this.#o.store.claim(kind, slice.map(idOf), this.#node, lease, Date.now()),
      );
      for (const row of slice) {
        if (this.#closed) return;
        if (mine.has(idOf(row))) await work(row);
      }
    }
  }

  async #pass(): Promise<void> {
    if (this.#closed) return;
    const store = this.#o.store;
    await this.#claimed(
      "decide",
      await store.undecided(passBatch),
      (r) => r.requestId,
      (row) =>
        this.#attempt(
          "decide",
          row.requestId,
          { requestId: row.requestId, orderId: row.orderId },
          () => this.#decide(row.requestId, row.orderId, row.receivedAt),
        ),
    );
    await this.#claimed(
      "deliver",
      await store.undelivered(passBatch),
      (r) => r.requestId,
      (row) =>
        this.#attempt(
          "deliver",
          row.requestId,
          { requestId: row.requestId, orderId: row.orderId, organization: row.organization },
          () => this.#deliver(row),
        ),
    );
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
      // Another node may hold the change that carries it: let it decide, and tell it so. The
      // node that noted the request skipped it while it was claimed here, and would otherwise
      // come back to it only at its next periodic pass.
      await this.#o.store.release("decide", [requestId], this.#node);
      this.#o.onNoted?.();
      return;
    }
    const { order } = found;
    const request = own(order.submissions, requestId) as Order["submissions"][RequestId];
    const heads = [...request.heads];
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
    await this.#o.store.decide(
      {
        requestId,
        orderId,
        organization: order.organization,
        owner: order.owner,
        requestedBy: request.requestedBy,
        heads,
        processedAt: Date.now(),
        ...(rejection ? { rejection } : {}),
      },
      this.#o.orderNumber,
    );
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

  /** One relay write of a ledger or inbox (through the cluster's writer when there is one). */
  async #write<T>(handle: DocHandle<T>, edit: (doc: T) => void): Promise<void> {
    if (this.#o.write) await this.#o.write(handle, edit);
    else handle.change(edit as never);
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
    const outcome = await this.#sealed(row, toOutcome(row));
    const users = [...new Set([row.owner, row.requestedBy])];
    const touched: DocumentId[] = [];
    for (const user of users) {
      const ledger = await this.#userDoc<Ledger>(user, row.organization, "ledger");
      await this.#write(ledger, (l) =>
        recordSubmissionOutcome(l, row.requestId as RequestId, outcome),
      );
      const inbox = await this.#userDoc<Inbox>(user, row.organization, "inbox");
      await this.#write(inbox, (i) =>
        postMessage(i, `submission-${row.requestId}` as MessageId, messageFor(row)),
      );
      touched.push(ledger.documentId, inbox.documentId);
    }
    this.#o.fault?.("ledger-written");
    await this.#o.repo.flush(touched);
    this.#o.fault?.("ledger-stored");
    await this.#o.store.markDelivered(row.requestId);
  }

  /**
   * The outcome with the relay's seal, over the outcome, its request, its users and (for the
   * outcome that introduced the order's number) the sequence value behind that number.
   */
  async #sealed(row: OutcomeRow, outcome: SubmissionOutcome): Promise<SubmissionOutcome> {
    const secret = this.#o.sealSecret;
    if (!secret) return outcome;
    const n =
      row.status === "accepted" && row.revision === 1
        ? await this.#o.store.numberSequence(row.orderId, row.orderNumber ?? "")
        : undefined;
    const seal = sealOf(secret, {
      organization: row.organization,
      key: `request:${row.requestId}`,
      entry: outcome as unknown as Record<string, unknown>,
      owner: row.owner,
      requestedBy: row.requestedBy,
      ...(n !== undefined ? { sequence: n } : {}),
    });
    return { ...outcome, seal };
  }

  /** Tickets for new assistance requests, and their delivery. */
  async #tickets(): Promise<void> {
    const store = this.#o.store;
    await this.#claimed(
      "ticket",
      await store.unticketed(passBatch),
      (d) => d.documentId,
      (doc) =>
        this.#attempt(
          "ticket",
          doc.documentId,
          { documentId: doc.documentId, organization: doc.organization },
          async () => {
            await store.assignTicket(doc, this.#o.ticketNumber, Date.now());
            this.#o.fault?.("ticket-committed");
          },
        ),
    );
    await this.#claimed(
      "ticket-deliver",
      await store.undeliveredTickets(passBatch),
      (t) => t.documentId,
      (t) =>
        this.#attempt(
          "ticket-deliver",
          t.documentId,
          { documentId: t.documentId, organization: t.organization, ticket: t.ticketNumber },
          () => this.#deliverTicket(t),
        ),
    );
  }

  async #deliverTicket(t: TicketRow): Promise<void> {
    const request = await this.#o.repo
      .find<AssistanceRequest>(t.documentId as DocumentId)
      .then((h) => h.doc())
      .catch(() => undefined);
    const ledger = await this.#userDoc<Ledger>(t.owner, t.organization, "ledger");
    const sealed = { ticketNumber: t.ticketNumber, receivedAt: t.receivedAt };
    const secret = this.#o.sealSecret;
    const seal = secret
      ? sealOf(secret, {
          organization: t.organization,
          key: `ticket:${t.documentId}`,
          entry: sealed,
          owner: t.owner,
          ...(t.n !== null && t.n !== undefined ? { sequence: t.n } : {}),
        })
      : undefined;
    await this.#write(ledger, (l) =>
      recordAssistanceReceipt(l, t.documentId as DocId, {
        ...sealed,
        state: "open",
        ...(seal ? { seal } : {}),
      }),
    );
    const inbox = await this.#userDoc<Inbox>(t.owner, t.organization, "inbox");
    await this.#write(inbox, (i) =>
      postMessage(i, `assistance-${t.documentId}` as MessageId, {
        at: t.receivedAt,
        subject: `Assistance request received: ticket ${t.ticketNumber}`,
        body: request
          ? `We received "${request.subject}". We will answer under ticket ${t.ticketNumber}.`
          : `Ticket ${t.ticketNumber}.`,
        ref: { kind: "assistance", id: t.documentId as DocId },
      }),
    );
    await this.#o.repo.flush([ledger.documentId, inbox.documentId]);
    await this.#o.store.markTicketDelivered(t.documentId);
  }
}

function toOutcome(row: OutcomeRow): SubmissionOutcome {
  const base = { orderId: row.orderId as DocId, processedAt: row.processedAt };
  if (row.status === "accepted") {
    return {
      ...base,
      status: "accepted",
      revision: row.revision as number,
      orderNumber: row.orderNumber as string,
      heads: [...(row.heads ?? [])],
    };
  }
  if (row.status === "duplicate") {
    return {
      ...base,
      status: "duplicate",
      duplicateOf: row.duplicateOf as RequestId,
      revision: row.revision as number,
      orderNumber: row.orderNumber as string,
    };
  }
  return { ...base, status: "rejected", code: row.code as string, reason: row.reason as string };
}

function messageFor(row: OutcomeRow) {
  const ref = { kind: "order" as const, id: row.orderId as DocId };
  if (row.status === "accepted") {
    const what = row.revision === 1 ? "accepted" : `amended (revision ${row.revision})`;
    return {
      at: row.processedAt,
      subject: `Order ${row.orderNumber} ${what}`,
      body: `Your order was received as ${row.orderNumber}, revision ${row.revision}.`,
      ref,
    };
  }
  if (row.status === "duplicate") {
    return {
      at: row.processedAt,
      subject: `Order ${row.orderNumber} already received`,
      body: `This submission repeats revision ${row.revision}; nothing changed.`,
      ref,
    };
  }
  return {
    at: row.processedAt,
    subject: "Order submission rejected",
    body: row.reason ?? "",
    ref,
  };
}
