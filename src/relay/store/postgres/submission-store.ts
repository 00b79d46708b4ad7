import type pg from "pg";
import { type AcceptedRevision, numberCollision, planDecision } from "../decide.js";
import {
  type OutcomeSqlRow,
  outcomeColumns,
  outcomeOf,
  outcomeValues,
  placeholders,
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
import type { PgDatabase } from "./database.js";

/**
 * Submissions on PostgreSQL, shared by several relay nodes. A decision takes a transaction-scoped
 * advisory lock on its order (decisions of one order run one at a time, so revisions count up
 * without gaps), then the organization's counter row with `UPDATE … RETURNING` (numbers of one
 * organization are taken one transaction at a time, and a rolled-back decision gives its number
 * back). Claims are one `INSERT … ON CONFLICT DO UPDATE … WHERE expired or mine` statement: the
 * row lock on a conflicting claim makes two claimers see each other.
 */
export class PgSubmissionStore implements SubmissionStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async noteRequests(orderId: string, requestIds: readonly string[], now: number): Promise<void> {
    if (requestIds.length === 0) return;
    // One statement is one transaction.
    await this.#db.query(
      `INSERT INTO submission_requests (request_id, order_id, received_at)
       SELECT id, $2, $3 FROM unnest($1::text[]) AS id
       ON CONFLICT (request_id) DO UPDATE SET received_at = excluded.received_at`,
      [requestIds, orderId, now],
    );
  }

  async undecided(limit: number): Promise<PendingRequest[]> {
    const { rows } = await this.#db.query<{
      request_id: string;
      order_id: string;
      received_at: number;
    }>(
      `SELECT r.request_id, r.order_id, r.received_at FROM submission_requests r
       WHERE NOT EXISTS (SELECT 1 FROM submission_outcomes o WHERE o.request_id = r.request_id)
       ORDER BY r.received_at, r.seq LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({
      requestId: r.request_id,
      orderId: r.order_id,
      receivedAt: r.received_at,
    }));
  }

  async claim(
    kind: WorkKind,
    ids: readonly string[],
    node: string,
    leaseMs: number,
    now: number,
  ): Promise<string[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.#db.query<{ id: string }>(
      `INSERT INTO work_claims (kind, id, node, until)
       SELECT $1, id, $3, $4 FROM unnest($2::text[]) AS id
       ON CONFLICT (kind, id) DO UPDATE SET node = excluded.node, until = excluded.until
       WHERE work_claims.until < $5 OR work_claims.node = $3
       RETURNING id`,
      [kind, [...new Set(ids)], node, now + leaseMs, now],
    );
    const held = new Set(rows.map((r) => r.id));
    return ids.filter((id) => held.has(id));
  }

  async release(kind: WorkKind, ids: readonly string[], node: string): Promise<void> {
    if (ids.length === 0) return;
    await this.#db.query("DELETE FROM work_claims WHERE kind = $1 AND id = ANY($2) AND node = $3", [
      kind,
      ids,
      node,
    ]);
  }

  async outcome(requestId: string): Promise<OutcomeRow | undefined> {
    const { rows } = await this.#db.query<OutcomeSqlRow>(
      "SELECT * FROM submission_outcomes WHERE request_id = $1",
      [requestId],
    );
    return rows[0] ? outcomeOf(rows[0]) : undefined;
  }

  async decide(
    input: DecisionInput,
    orderNumber: NumberFormat,
  ): Promise<{ outcome: OutcomeRow; decidedNow: boolean }> {
    return this.#db.tx(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [
        `order:${input.orderId}`,
      ]);
      const existing = await c.query<OutcomeSqlRow>(
        "SELECT * FROM submission_outcomes WHERE request_id = $1",
        [input.requestId],
      );
      if (existing.rows[0]) return { outcome: outcomeOf(existing.rows[0]), decidedNow: false };
      const accepted: AcceptedRevision[] = (
        await c.query<{
          request_id: string;
          revision: number;
          order_number: string;
          heads: string;
        }>(
          `SELECT request_id, revision, order_number, heads FROM submission_outcomes
           WHERE order_id = $1 AND status = 'accepted' ORDER BY revision`,
          [input.orderId],
        )
      ).rows.map((a) => ({
        requestId: a.request_id,
        revision: a.revision,
        orderNumber: a.order_number,
        heads: JSON.parse(a.heads) as string[],
      }));
      const { needsNumber, ...plan } = planDecision(input, accepted);
      let outcome: OutcomeRow = plan;
      if (needsNumber) {
        const numbered = await c.query<{ order_number: string }>(
          "SELECT order_number FROM order_numbers WHERE order_id = $1",
          [input.orderId],
        );
        let number = numbered.rows[0]?.order_number;
        if (!number) {
          const n = await next(c, `order:${input.organization}`);
          number = orderNumber(input.organization, n);
          const holder = await c.query(
            "SELECT 1 FROM order_numbers WHERE organization = $1 AND order_number = $2",
            [input.organization, number],
          );
          if ((holder.rowCount ?? 0) > 0)
            throw numberCollision("orderNumberFormat", input.organization, n, number);
          await c.query(
            "INSERT INTO order_numbers (order_id, organization, order_number, n) VALUES ($1, $2, $3, $4)",
            [input.orderId, input.organization, number, n],
          );
        }
        outcome = { ...plan, orderNumber: number };
      }
      await c.query(
        `INSERT INTO submission_outcomes (${outcomeColumns}) VALUES (${placeholders(13)})`,
        outcomeValues(outcome),
      );
      await c.query("DELETE FROM work_claims WHERE kind = 'decide' AND id = $1", [input.requestId]);
      return { outcome, decidedNow: true };
    });
  }

  async undelivered(limit: number): Promise<OutcomeRow[]> {
    const { rows } = await this.#db.query<OutcomeSqlRow>(
      "SELECT * FROM submission_outcomes WHERE NOT delivered ORDER BY processed_at, seq LIMIT $1",
      [limit],
    );
    return rows.map(outcomeOf);
  }

  async markDelivered(requestId: string): Promise<void> {
    await this.#db.tx(async (c) => {
      await c.query("UPDATE submission_outcomes SET delivered = true WHERE request_id = $1", [
        requestId,
      ]);
      await c.query("DELETE FROM work_claims WHERE kind = 'deliver' AND id = $1", [requestId]);
    });
  }

  async numberSequence(orderId: string, orderNumber: string): Promise<number | undefined> {
    const { rows } = await this.#db.query<{ n: number | null }>(
      "SELECT n FROM order_numbers WHERE order_id = $1 AND order_number = $2",
      [orderId, orderNumber],
    );
    return rows[0]?.n ?? undefined;
  }

  async unticketed(
    limit: number,
  ): Promise<{ documentId: string; organization: string; owner: string }[]> {
    const { rows } = await this.#db.query<{ doc_id: string; organization: string; owner: string }>(
      `SELECT d.doc_id, d.owner, d.organization FROM documents d
       WHERE d.kind = 'assistance'
         AND NOT EXISTS (SELECT 1 FROM assistance_tickets t WHERE t.doc_id = d.doc_id)
       ORDER BY d.created_at, d.seq LIMIT $1`,
      [limit],
    );
    return rows.map((d) => ({
      documentId: d.doc_id,
      organization: d.organization,
      owner: d.owner,
    }));
  }

  async assignTicket(
    request: { documentId: string; organization: string; owner: string },
    ticketNumber: NumberFormat,
    now: number,
  ): Promise<{ ticket: TicketRow; assignedNow: boolean }> {
    return this.#db.tx(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [
        `ticket:${request.documentId}`,
      ]);
      const existing = await c.query<TicketSqlRow>(
        "SELECT * FROM assistance_tickets WHERE doc_id = $1",
        [request.documentId],
      );
      if (existing.rows[0]) return { ticket: ticketOf(existing.rows[0]), assignedNow: false };
      const n = await next(c, `ticket:${request.organization}`);
      const ticket = ticketNumber(request.organization, n);
      const holder = await c.query(
        "SELECT 1 FROM assistance_tickets WHERE organization = $1 AND ticket_number = $2",
        [request.organization, ticket],
      );
      if ((holder.rowCount ?? 0) > 0)
        throw numberCollision("ticketNumberFormat", request.organization, n, ticket);
      const { rows } = await c.query<TicketSqlRow>(
        `INSERT INTO assistance_tickets (doc_id, organization, owner, ticket_number, received_at, n)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [request.documentId, request.organization, request.owner, ticket, now, n],
      );
      await c.query("DELETE FROM work_claims WHERE kind = 'ticket' AND id = $1", [
        request.documentId,
      ]);
      return { ticket: ticketOf(rows[0] as TicketSqlRow), assignedNow: true };
    });
  }

  async undeliveredTickets(limit: number): Promise<TicketRow[]> {
    const { rows } = await this.#db.query<TicketSqlRow>(
      "SELECT * FROM assistance_tickets WHERE NOT delivered ORDER BY received_at, seq LIMIT $1",
      [limit],
    );
    return rows.map(ticketOf);
  }

  async markTicketDelivered(documentId: string): Promise<void> {
    await this.#db.tx(async (c) => {
      await c.query("UPDATE assistance_tickets SET delivered = true WHERE doc_id = $1", [
        documentId,
      ]);
      await c.query("DELETE FROM work_claims WHERE kind = 'ticket-deliver' AND id = $1", [
        documentId,
      ]);
    });
  }
}

/**
 * The next value of a counter row, inside the caller's transaction: the row stays locked until
 * it commits, and a rollback gives the value back (no gap), unlike a database sequence.
 */
export async function next(c: pg.PoolClient, name: string): Promise<number> {
  await c.query(
    "INSERT INTO sequences (name, value) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING",
    [name],
  );
  const { rows } = await c.query<{ value: number }>(
    "UPDATE sequences SET value = value + 1 WHERE name = $1 RETURNING value",
    [name],
  );
  return (rows[0] as { value: number }).value;
}
