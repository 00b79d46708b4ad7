import type { Logger } from "pino";
import { OmsError } from "../docs/errors.js";
import type { Principal } from "../policy/principal.js";
import type { RelayDatabase } from "./database.js";
import { verifySeal } from "./receipt-seal.js";

/** At most this many entries per `POST /v1/restore/receipts` (a device sends more in pages). */
export const maxReceiptsPerRequest = 2_000;

export type LearnResult = "learned" | "known" | "refused" | "conflict";

export interface ReceiptLearnerOptions {
  db: RelayDatabase;
  secret: Uint8Array;
  log: Logger;
  /** Counts each entry by what became of it (metrics). */
  onEntry?: (result: LearnResult) => void;
  /** Something was learned: the processor writes it into the relay's current ledgers. */
  onLearned?: () => void;
}

export interface LearnSummary {
  learned: number;
  known: number;
  refused: number;
  conflicts: number;
}

const statuses = new Set(["accepted", "duplicate", "rejected"]);

/**
 * Learns back outcomes and tickets a relay wrote before it lost its data (restored from an older
 * backup, or its data folder deleted), from the sealed copies a device's ledger holds. Only
 * entries this relay sealed for the caller's organization are learned; what the database has
 * already stays as it is. Learned numbers are taken and their sequence raised past them, so no
 * number is issued twice and no request is decided again.
 */
export class ReceiptLearner {
  readonly #o: ReceiptLearnerOptions;

  constructor(options: ReceiptLearnerOptions) {
    this.#o = options;
  }

  learn(principal: Principal, body: Record<string, unknown>): LearnSummary {
    const submissions = entriesOf(body.submissions, "submissions");
    const assistance = entriesOf(body.assistance, "assistance");
    if (submissions.length + assistance.length > maxReceiptsPerRequest) {
      throw new OmsError(
        "INVALID_INPUT",
        `send at most ${maxReceiptsPerRequest} receipts per request; split them into pages`,
      );
    }
    const summary: LearnSummary = { learned: 0, known: 0, refused: 0, conflicts: 0 };
    const count = (result: LearnResult) => {
      if (result === "conflict") summary.conflicts++;
      else summary[result]++;
      this.#o.onEntry?.(result);
    };
    const organization = principal.organization;
    this.#o.db.transaction(() => {
      for (const [requestId, outcome] of submissions)
        count(this.#learnOutcome(organization, requestId, outcome));
      for (const [docId, receipt] of assistance)
        count(this.#learnTicket(organization, docId, receipt));
    })();
    if (summary.refused > 0 || summary.conflicts > 0) {
      this.#o.log.warn(
        { organization, user: principal.userId, ...summary },
        "receipts from a device: some were not sealed by this relay, or conflict with what it decided since",
      );
    }
    if (summary.learned > 0) {
      this.#o.log.info(
        { organization, user: principal.userId, ...summary },
        "learned back outcomes and tickets from a device's ledger (the relay had lost them)",
      );
      this.#o.onLearned?.();
    }
    return summary;
  }

  #learnOutcome(organization: string, requestId: string, value: unknown): LearnResult {
    if (!isRecord(value)) return "refused";
    const { seal, ...outcome } = value;
    if (!verifySeal(this.#o.secret, organization, `request:${requestId}`, outcome, seal))
      return "refused";
    const status = String(outcome.status);
    const orderId = outcome.orderId;
    if (!statuses.has(status) || typeof orderId !== "string") return "refused";
    const db = this.#o.db;
    const existing = db
      .prepare<[string], { status: string; order_number: string | null }>(
        "SELECT status, order_number FROM submission_outcomes WHERE request_id = ?",
      )
      .get(requestId);
    if (existing) {
      return existing.status === status &&
        (existing.order_number ?? undefined) === (outcome.orderNumber ?? undefined)
        ? "known"
        : "conflict";
    }
    const number = typeof outcome.orderNumber === "string" ? outcome.orderNumber : null;
    if (number) {
      const holder = db
        .prepare<[string, string], { order_id: string }>(
          "SELECT order_id FROM order_numbers WHERE organization = ? AND order_number = ?",
        )
        .get(organization, number);
      // Issued again since the restore, to another order (two devices raced): the relay's
      // decision stands; the operator sees the conflict in the log and the metric.
      if (holder && holder.order_id !== orderId) return "conflict";
      const numbered = db
        .prepare<[string], { order_number: string }>(
          "SELECT order_number FROM order_numbers WHERE order_id = ?",
        )
        .get(orderId);
      if (numbered && numbered.order_number !== number) return "conflict";
      if (!numbered) {
        db.prepare(
          "INSERT INTO order_numbers (order_id, organization, order_number, n) VALUES (?, ?, ?, ?)",
        ).run(orderId, organization, number, seal.sequence ?? null);
      }
    }
    if (seal.sequence !== undefined) this.#raise(`order:${organization}`, seal.sequence);
    db.prepare(
      `INSERT INTO submission_outcomes (request_id, order_id, organization, owner, requested_by, status,
         revision, order_number, heads, duplicate_of, code, reason, processed_at, delivered)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
    ).run(
      requestId,
      orderId,
      organization,
      seal.owner,
      seal.requestedBy ?? seal.owner,
      status,
      typeof outcome.revision === "number" ? outcome.revision : null,
      number,
      Array.isArray(outcome.heads) ? JSON.stringify(outcome.heads) : null,
      typeof outcome.duplicateOf === "string" ? outcome.duplicateOf : null,
      typeof outcome.code === "string" ? outcome.code : null,
      typeof outcome.reason === "string" ? outcome.reason : null,
      typeof outcome.processedAt === "number" ? outcome.processedAt : Date.now(),
    );
    return "learned";
  }

  #learnTicket(organization: string, docId: string, value: unknown): LearnResult {
    if (!isRecord(value)) return "refused";
    const { ticketNumber, receivedAt, seal } = value;
    const entry = { ticketNumber, receivedAt };
    if (!verifySeal(this.#o.secret, organization, `ticket:${docId}`, entry, seal)) return "refused";
    if (typeof ticketNumber !== "string" || typeof receivedAt !== "number") return "refused";
    const db = this.#o.db;
    const existing = db
      .prepare<[string], { ticket_number: string }>(
        "SELECT ticket_number FROM assistance_tickets WHERE doc_id = ?",
      )
      .get(docId);
    if (existing) return existing.ticket_number === ticketNumber ? "known" : "conflict";
    if (
      db
        .prepare("SELECT 1 FROM assistance_tickets WHERE organization = ? AND ticket_number = ?")
        .get(organization, ticketNumber)
    )
      return "conflict";
    db.prepare(
      "INSERT INTO assistance_tickets (doc_id, organization, owner, ticket_number, received_at, n, delivered) VALUES (?, ?, ?, ?, ?, ?, 0)",
    ).run(docId, organization, seal.owner, ticketNumber, receivedAt, seal.sequence ?? null);
    if (seal.sequence !== undefined) this.#raise(`ticket:${organization}`, seal.sequence);
    return "learned";
  }

  /** The sequence continues after `n`: the next number is never one issued before the loss. */
  #raise(name: string, n: number): void {
    this.#o.db
      .prepare(
        `INSERT INTO sequences (name, value) VALUES (?, ?)
         ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)`,
      )
      .run(name, n);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function entriesOf(value: unknown, field: string): [string, unknown][] {
  if (value === undefined) return [];
  if (!isRecord(value))
    throw new OmsError(
      "INVALID_INPUT",
      `"${field}" must be an object keyed by id, as in the ledger; see docs/operations.md`,
    );
  return Object.entries(value);
}
