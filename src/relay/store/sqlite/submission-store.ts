import type { RelayDatabase } from "../../database.js";
import { type AcceptedRevision, numberCollision, planDecision } from "../decide.js";
import {
  type OutcomeSqlRow,
  outcomeColumns,
  outcomeOf,
  outcomeValues,
  questionMarks,
  type TicketSqlRow,
  ticketOf,
} from "../rows.js";
import type {
  DecisionInput,
  NumberFormat,
  OutcomeRow,
  PendingRequest,
  SubmissionStore,
  TicketRow,
  WorkKind,
} from "../types.js";

/**
 * Submissions on SQLite. One process owns the file, and SQLite has one writer at a time: every
 * transaction here is serialized with every other, which gives the decide and ticket guarantees.
 */
export class SqliteSubmissionStore implements SubmissionStore {
  readonly #db: RelayDatabase;

  constructor(db: RelayDatabase) {
    this.#db = db;
  }

  async noteRequests(orderId: string, requestIds: readonly string[], now: number): Promise<void> {
    // A request seen again (a client resending after a relay crash) is waited for afresh.
    const insert = this.#db.prepare(
      `INSERT INTO submission_requests (request_id, order_id, received_at) VALUES (?, ?, ?)
       ON CONFLICT(request_id) DO UPDATE SET received_at = excluded.received_at`,
    );
    this.#db.transaction(() => {
      for (const id of requestIds) insert.run(id, orderId, now);
    })();
  }

  async undecided(limit: number): Promise<PendingRequest[]> {
    return this.#db
      .prepare<[number], { request_id: string; order_id: string; received_at: number }>(
        `SELECT r.request_id, r.order_id, r.received_at FROM submission_requests r
         LEFT JOIN submission_outcomes o ON o.request_id = r.request_id
         WHERE o.request_id IS NULL ORDER BY r.received_at, r.rowid LIMIT ?`,
      )
      .all(limit)
      .map((r) => ({ requestId: r.request_id, orderId: r.order_id, receivedAt: r.received_at }));
  }

  async claim(
    kind: WorkKind,
    ids: readonly string[],
    node: string,
    leaseMs: number,
    now: number,
  ): Promise<string[]> {
    const take = this.#db.prepare<[string, string, string, number, number, string], { id: string }>(
      `INSERT INTO work_claims (kind, id, node, until) VALUES (?, ?, ?, ?)
       ON CONFLICT(kind, id) DO UPDATE SET node = excluded.node, until = excluded.until
       WHERE work_claims.until < ? OR work_claims.node = ?
       RETURNING id`,
    );
    return this.#db.transaction(() =>
      ids.filter((id) => take.get(kind, id, node, now + leaseMs, now, node) !== undefined),
    )();
  }

  async release(kind: WorkKind, ids: readonly string[], node: string): Promise<void> {
    const drop = this.#db.prepare("DELETE FROM work_claims WHERE kind = ? AND id = ? AND node = ?");
    this.#db.transaction(() => {
      for (const id of ids) drop.run(kind, id, node);
    })();
  }

  #outcome(requestId: string): OutcomeRow | undefined {
    const row = this.#db
      .prepare<[string], OutcomeSqlRow>("SELECT * FROM submission_outcomes WHERE request_id = ?")
      .get(requestId);
    return row ? outcomeOf(row) : undefined;
  }

  async outcome(requestId: string): Promise<OutcomeRow | undefined> {
    return this.#outcome(requestId);
  }

  async decide(
    input: DecisionInput,
    orderNumber: NumberFormat,
  ): Promise<{ outcome: OutcomeRow; decidedNow: boolean }> {
    const db = this.#db;
    return db.transaction(() => {
      const existing = this.#outcome(input.requestId);
      if (existing) return { outcome: existing, decidedNow: false };
      const accepted: AcceptedRevision[] = db
        .prepare<
          [string],
          { request_id: string; revision: number; order_number: string; heads: string }
        >(
          "SELECT request_id, revision, order_number, heads FROM submission_outcomes WHERE order_id = ? AND status = 'accepted' ORDER BY revision",
        )
        .all(input.orderId)
        .map((a) => ({
          requestId: a.request_id,
          revision: a.revision,
          orderNumber: a.order_number,
          heads: JSON.parse(a.heads) as string[],
        }));
      const { needsNumber, ...plan } = planDecision(input, accepted);
      let outcome: OutcomeRow = plan;
      if (needsNumber) {
        let number = db
          .prepare<[string], { order_number: string }>(
            "SELECT order_number FROM order_numbers WHERE order_id = ?",
          )
          .get(input.orderId)?.order_number;
        if (!number) {
          const n = this.#next(`order:${input.organization}`);
          number = orderNumber(input.organization, n);
          const holder = db
            .prepare<[string, string], { order_id: string }>(
              "SELECT order_id FROM order_numbers WHERE organization = ? AND order_number = ?",
            )
            .get(input.organization, number);
          if (holder) throw numberCollision("orderNumberFormat", input.organization, n, number);
          db.prepare(
            "INSERT INTO order_numbers (order_id, organization, order_number, n) VALUES (?, ?, ?, ?)",
          ).run(input.orderId, input.organization, number, n);
        }
        outcome = { ...plan, orderNumber: number };
      }
      db.prepare(
        `INSERT INTO submission_outcomes (${outcomeColumns}) VALUES (${questionMarks(13)})`,
      ).run(...outcomeValues(outcome));
      db.prepare("DELETE FROM work_claims WHERE kind = 'decide' AND id = ?").run(input.requestId);
      return { outcome, decidedNow: true };
    })();
  }

  /** The next value of a sequence; call inside a transaction. */
  #next(name: string): number {
    const db = this.#db;
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

  async undelivered(limit: number): Promise<OutcomeRow[]> {
    return this.#db
      .prepare<[number], OutcomeSqlRow>(
        "SELECT * FROM submission_outcomes WHERE delivered = 0 ORDER BY processed_at, rowid LIMIT ?",
      )
      .all(limit)
      .map(outcomeOf);
  }

  async markDelivered(requestId: string): Promise<void> {
    this.#db.transaction(() => {
      this.#db
        .prepare("UPDATE submission_outcomes SET delivered = 1 WHERE request_id = ?")
        .run(requestId);
      this.#db.prepare("DELETE FROM work_claims WHERE kind = 'deliver' AND id = ?").run(requestId);
    })();
  }

  async numberSequence(orderId: string, orderNumber: string): Promise<number | undefined> {
    const n = this.#db
      .prepare<[string, string], { n: number | null }>(
        "SELECT n FROM order_numbers WHERE order_id = ? AND order_number = ?",
      )
      .get(orderId, orderNumber)?.n;
    return n ?? undefined;
  }

  async unticketed(
    limit: number,
  ): Promise<{ documentId: string; organization: string; owner: string }[]> {
    return this.#db
      .prepare<[number], { doc_id: string; owner: string; organization: string }>(
        `SELECT d.doc_id, d.owner, d.organization FROM documents d
         LEFT JOIN assistance_tickets t ON t.doc_id = d.doc_id
         WHERE d.kind = 'assistance' AND t.doc_id IS NULL ORDER BY d.created_at LIMIT ?`,
      )
      .all(limit)
      .map((d) => ({ documentId: d.doc_id, organization: d.organization, owner: d.owner }));
  }

  async assignTicket(
    request: { documentId: string; organization: string; owner: string },
    ticketNumber: NumberFormat,
    now: number,
  ): Promise<{ ticket: TicketRow; assignedNow: boolean }> {
    const db = this.#db;
    const get = db.prepare<[string], TicketSqlRow>(
      "SELECT * FROM assistance_tickets WHERE doc_id = ?",
    );
    return db.transaction(() => {
      const existing = get.get(request.documentId);
      if (existing) return { ticket: ticketOf(existing), assignedNow: false };
      const n = this.#next(`ticket:${request.organization}`);
      const ticket = ticketNumber(request.organization, n);
      if (
        db
          .prepare("SELECT 1 FROM assistance_tickets WHERE organization = ? AND ticket_number = ?")
          .get(request.organization, ticket)
      )
        throw numberCollision("ticketNumberFormat", request.organization, n, ticket);
      db.prepare(
        "INSERT INTO assistance_tickets (doc_id, organization, owner, ticket_number, received_at, n) VALUES (?, ?, ?, ?, ?, ?)",
      ).run(request.documentId, request.organization, request.owner, ticket, now, n);
      db.prepare("DELETE FROM work_claims WHERE kind = 'ticket' AND id = ?").run(
        request.documentId,
      );
      return { ticket: ticketOf(get.get(request.documentId) as TicketSqlRow), assignedNow: true };
    })();
  }

  async undeliveredTickets(limit: number): Promise<TicketRow[]> {
    return this.#db
      .prepare<[number], TicketSqlRow>(
        "SELECT * FROM assistance_tickets WHERE delivered = 0 ORDER BY received_at, rowid LIMIT ?",
      )
      .all(limit)
      .map(ticketOf);
  }

  async markTicketDelivered(documentId: string): Promise<void> {
    this.#db.transaction(() => {
      this.#db
        .prepare("UPDATE assistance_tickets SET delivered = 1 WHERE doc_id = ?")
        .run(documentId);
      this.#db
        .prepare("DELETE FROM work_claims WHERE kind = 'ticket-deliver' AND id = ?")
        .run(documentId);
    })();
  }
}
