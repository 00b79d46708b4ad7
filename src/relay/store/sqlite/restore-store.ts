import type { RelayDatabase } from "../../database.js";
import { outcomeColumns, outcomeValues, questionMarks } from "../rows.js";
import type { LearnedOutcome, LearnedTicket, LearnOutcome, RestoreStore } from "../types.js";

/** Restore receipts on SQLite: one transaction per page of receipts. */
export class SqliteRestoreStore implements RestoreStore {
  readonly #db: RelayDatabase;

  constructor(db: RelayDatabase) {
    this.#db = db;
  }

  async learn(
    organization: string,
    outcomes: readonly LearnedOutcome[],
    tickets: readonly LearnedTicket[],
  ): Promise<{ outcomes: LearnOutcome[]; tickets: LearnOutcome[] }> {
    return this.#db.transaction(() => ({
      outcomes: outcomes.map((o) => this.#learnOutcome(organization, o)),
      tickets: tickets.map((t) => this.#learnTicket(organization, t)),
    }))();
  }

  #learnOutcome(organization: string, o: LearnedOutcome): LearnOutcome {
    const db = this.#db;
    const existing = db
      .prepare<[string], { status: string; order_number: string | null }>(
        "SELECT status, order_number FROM submission_outcomes WHERE request_id = ?",
      )
      .get(o.requestId);
    if (existing) {
      return existing.status === o.status && existing.order_number === o.orderNumber
        ? "known"
        : "conflict";
    }
    if (o.orderNumber) {
      const holder = db
        .prepare<[string, string], { order_id: string }>(
          "SELECT order_id FROM order_numbers WHERE organization = ? AND order_number = ?",
        )
        .get(organization, o.orderNumber);
      // Issued again since the restore, to another order (two devices raced): the relay's
      // decision stands; the operator sees the conflict in the log and the metric.
      if (holder && holder.order_id !== o.orderId) return "conflict";
      const numbered = db
        .prepare<[string], { order_number: string }>(
          "SELECT order_number FROM order_numbers WHERE order_id = ?",
        )
        .get(o.orderId);
      if (numbered && numbered.order_number !== o.orderNumber) return "conflict";
      if (!numbered) {
        db.prepare(
          "INSERT INTO order_numbers (order_id, organization, order_number, n) VALUES (?, ?, ?, ?)",
        ).run(o.orderId, organization, o.orderNumber, o.sequence ?? null);
      }
    }
    if (o.sequence !== undefined) this.#raise(`order:${organization}`, o.sequence);
    // Not delivered yet: the processor writes it into the relay's current ledgers.
    db.prepare(
      `INSERT INTO submission_outcomes (${outcomeColumns}) VALUES (${questionMarks(13)})`,
    ).run(...outcomeValues({ ...o, organization }));
    return "learned";
  }

  #learnTicket(organization: string, t: LearnedTicket): LearnOutcome {
    const db = this.#db;
    const existing = db
      .prepare<[string], { ticket_number: string }>(
        "SELECT ticket_number FROM assistance_tickets WHERE doc_id = ?",
      )
      .get(t.documentId);
    if (existing) return existing.ticket_number === t.ticketNumber ? "known" : "conflict";
    if (
      db
        .prepare("SELECT 1 FROM assistance_tickets WHERE organization = ? AND ticket_number = ?")
        .get(organization, t.ticketNumber)
    )
      return "conflict";
    db.prepare(
      "INSERT INTO assistance_tickets (doc_id, organization, owner, ticket_number, received_at, n, delivered) VALUES (?, ?, ?, ?, ?, ?, 0)",
    ).run(t.documentId, organization, t.owner, t.ticketNumber, t.receivedAt, t.sequence ?? null);
    if (t.sequence !== undefined) this.#raise(`ticket:${organization}`, t.sequence);
    return "learned";
  }

  /** The sequence continues after `n`: the next number is never one issued before the loss. */
  #raise(name: string, n: number): void {
    this.#db
      .prepare(
        `INSERT INTO sequences (name, value) VALUES (?, ?)
         ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)`,
      )
      .run(name, n);
  }
}
