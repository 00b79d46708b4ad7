import type { OutcomeRow, TicketRow } from "./types.js";

/** A `submission_outcomes` row as either engine returns it. */
export interface OutcomeSqlRow {
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
  delivered: number | boolean;
}

export function outcomeOf(row: OutcomeSqlRow): OutcomeRow {
  return {
    requestId: row.request_id,
    orderId: row.order_id,
    organization: row.organization,
    owner: row.owner,
    requestedBy: row.requested_by,
    status: row.status,
    revision: row.revision === null ? null : Number(row.revision),
    orderNumber: row.order_number,
    heads: row.heads === null ? null : (JSON.parse(row.heads) as string[]),
    duplicateOf: row.duplicate_of,
    code: row.code,
    reason: row.reason,
    processedAt: Number(row.processed_at),
    delivered: Boolean(row.delivered),
  };
}

export interface TicketSqlRow {
  doc_id: string;
  organization: string;
  owner: string;
  ticket_number: string;
  received_at: number;
  n: number | null;
  delivered: number | boolean;
}

export function ticketOf(row: TicketSqlRow): TicketRow {
  return {
    documentId: row.doc_id,
    organization: row.organization,
    owner: row.owner,
    ticketNumber: row.ticket_number,
    receivedAt: Number(row.received_at),
    n: row.n === null ? null : Number(row.n),
    delivered: Boolean(row.delivered),
  };
}

/** The columns of a new `submission_outcomes` row, in the order both engines insert them. */
export const outcomeColumns =
  "request_id, order_id, organization, owner, requested_by, status, revision, order_number, heads, duplicate_of, code, reason, processed_at";

/** The values of `outcomeColumns` for an outcome. */
export function outcomeValues(o: Omit<OutcomeRow, "delivered">): unknown[] {
  return [
    o.requestId,
    o.orderId,
    o.organization,
    o.owner,
    o.requestedBy,
    o.status,
    o.revision,
    o.orderNumber,
    o.heads ? JSON.stringify(o.heads) : null,
    o.duplicateOf,
    o.code,
    o.reason,
    o.processedAt,
  ];
}

/** `$1, $2, …, $n` (PostgreSQL placeholders). */
export function placeholders(n: number): string {
  return Array.from({ length: n }, (_, i) => `$${i + 1}`).join(", ");
}

/** `?, ?, …` n times (SQLite placeholders). */
export function questionMarks(n: number): string {
  return Array.from({ length: n }, () => "?").join(", ");
}
