import type pg from "pg";
import { outcomeColumns, outcomeValues, placeholders } from "../rows.js";
import type { LearnedOutcome, LearnedTicket, LearnOutcome, RestoreStore } from "../types.js";
import type { PgDatabase } from "./database.js";

/** Restore receipts on PostgreSQL: one transaction per page of receipts. */
export class PgRestoreStore implements RestoreStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async learn(
    organization: string,
    outcomes: readonly LearnedOutcome[],
    tickets: readonly LearnedTicket[],
  ): Promise<{ outcomes: LearnOutcome[]; tickets: LearnOutcome[] }> {
    return this.#db.tx(async (c) => {
      const learned = { outcomes: [] as LearnOutcome[], tickets: [] as LearnOutcome[] };
      for (const o of outcomes) learned.outcomes.push(await learnOutcome(c, organization, o));
      for (const t of tickets) learned.tickets.push(await learnTicket(c, organization, t));
      return learned;
    });
  }
}

async function learnOutcome(
  c: pg.PoolClient,
  organization: string,
  o: LearnedOutcome,
): Promise<LearnOutcome> {
  // Serialized with decisions on the same order (see PgSubmissionStore.decide).
  await c.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`order:${o.orderId}`]);
  const existing = await c.query<{ status: string; order_number: string | null }>(
    "SELECT status, order_number FROM submission_outcomes WHERE request_id = $1",
    [o.requestId],
  );
  const row = existing.rows[0];
  if (row)
    return row.status === o.status && row.order_number === o.orderNumber ? "known" : "conflict";
  if (o.orderNumber) {
    const holder = await c.query<{ order_id: string }>(
      "SELECT order_id FROM order_numbers WHERE organization = $1 AND order_number = $2",
      [organization, o.orderNumber],
    );
    // Issued again since the restore, to another order: the relay's decision stands.
    if (holder.rows[0] && holder.rows[0].order_id !== o.orderId) return "conflict";
    const numbered = await c.query<{ order_number: string }>(
      "SELECT order_number FROM order_numbers WHERE order_id = $1",
      [o.orderId],
    );
    if (numbered.rows[0] && numbered.rows[0].order_number !== o.orderNumber) return "conflict";
    if (!numbered.rows[0]) {
      await c.query(
        "INSERT INTO order_numbers (order_id, organization, order_number, n) VALUES ($1, $2, $3, $4)",
        [o.orderId, organization, o.orderNumber, o.sequence ?? null],
      );
    }
  }
  if (o.sequence !== undefined) await raise(c, `order:${organization}`, o.sequence);
  // Not delivered yet: the processor writes it into the relay's current ledgers.
  await c.query(
    `INSERT INTO submission_outcomes (${outcomeColumns}) VALUES (${placeholders(13)})`,
    outcomeValues({ ...o, organization }),
  );
  return "learned";
}

async function learnTicket(
  c: pg.PoolClient,
  organization: string,
  t: LearnedTicket,
): Promise<LearnOutcome> {
  await c.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [
    `ticket:${t.documentId}`,
  ]);
  const existing = await c.query<{ ticket_number: string }>(
    "SELECT ticket_number FROM assistance_tickets WHERE doc_id = $1",
    [t.documentId],
  );
  if (existing.rows[0])
    return existing.rows[0].ticket_number === t.ticketNumber ? "known" : "conflict";
  const holder = await c.query(
    "SELECT 1 FROM assistance_tickets WHERE organization = $1 AND ticket_number = $2",
    [organization, t.ticketNumber],
  );
  if ((holder.rowCount ?? 0) > 0) return "conflict";
  await c.query(
    `INSERT INTO assistance_tickets (doc_id, organization, owner, ticket_number, received_at, n, delivered)
     VALUES ($1, $2, $3, $4, $5, $6, false)`,
    [t.documentId, organization, t.owner, t.ticketNumber, t.receivedAt, t.sequence ?? null],
  );
  if (t.sequence !== undefined) await raise(c, `ticket:${organization}`, t.sequence);
  return "learned";
}

/** The counter continues after `n`: the next number is never one issued before the loss. */
async function raise(c: pg.PoolClient, name: string, n: number): Promise<void> {
  await c.query(
    `INSERT INTO sequences (name, value) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET value = GREATEST(sequences.value, excluded.value)`,
    [name, n],
  );
}
