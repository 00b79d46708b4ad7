import type { Logger } from "pino";
import { OmsError } from "../docs/errors.js";
import type { Principal } from "../policy/principal.js";
import { verifySeal } from "./receipt-seal.js";
import type { LearnedOutcome, LearnedTicket, OutcomeStatus, RestoreStore } from "./store/types.js";

/** At most this many entries per `POST /v1/restore/receipts` (a device sends more in pages). */
export const maxReceiptsPerRequest = 2_000;

export type LearnResult = "learned" | "known" | "refused" | "conflict";

export interface ReceiptLearnerOptions {
  store: RestoreStore;
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

  async learn(principal: Principal, body: Record<string, unknown>): Promise<LearnSummary> {
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
    // Seals are checked here; what is sealed is learned by the store in one transaction.
    const outcomes: LearnedOutcome[] = [];
    for (const [requestId, value] of submissions) {
      const outcome = this.#sealedOutcome(organization, requestId, value);
      if (outcome) outcomes.push(outcome);
      else count("refused");
    }
    const tickets: LearnedTicket[] = [];
    for (const [docId, value] of assistance) {
      const ticket = this.#sealedTicket(organization, docId, value);
      if (ticket) tickets.push(ticket);
      else count("refused");
    }
    const learned = await this.#o.store.learn(organization, outcomes, tickets);
    for (const result of [...learned.outcomes, ...learned.tickets]) count(result);
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

  #sealedOutcome(
    organization: string,
    requestId: string,
    value: unknown,
  ): LearnedOutcome | undefined {
    if (!isRecord(value)) return undefined;
    const { seal, ...outcome } = value;
    if (!verifySeal(this.#o.secret, organization, `request:${requestId}`, outcome, seal))
      return undefined;
    const status = String(outcome.status);
    const orderId = outcome.orderId;
    if (!statuses.has(status) || typeof orderId !== "string") return undefined;
    return {
      requestId,
      orderId,
      owner: seal.owner,
      requestedBy: seal.requestedBy ?? seal.owner,
      status: status as OutcomeStatus,
      revision: typeof outcome.revision === "number" ? outcome.revision : null,
      orderNumber: typeof outcome.orderNumber === "string" ? outcome.orderNumber : null,
      heads: Array.isArray(outcome.heads) ? (outcome.heads as string[]) : null,
      duplicateOf: typeof outcome.duplicateOf === "string" ? outcome.duplicateOf : null,
      code: typeof outcome.code === "string" ? outcome.code : null,
      reason: typeof outcome.reason === "string" ? outcome.reason : null,
      processedAt: typeof outcome.processedAt === "number" ? outcome.processedAt : Date.now(),
      ...(seal.sequence !== undefined ? { sequence: seal.sequence } : {}),
    };
  }

  #sealedTicket(organization: string, docId: string, value: unknown): LearnedTicket | undefined {
    if (!isRecord(value)) return undefined;
    const { ticketNumber, receivedAt, seal } = value;
    const entry = { ticketNumber, receivedAt };
    if (!verifySeal(this.#o.secret, organization, `ticket:${docId}`, entry, seal)) return undefined;
    if (typeof ticketNumber !== "string" || typeof receivedAt !== "number") return undefined;
    return {
      documentId: docId,
      owner: seal.owner,
      ticketNumber,
      receivedAt,
      ...(seal.sequence !== undefined ? { sequence: seal.sequence } : {}),
    };
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
