import type { Violation } from "./errors.js";
import { type DocId, newRequestId, type RequestId, type UserId } from "./ids.js";
import { sortedLineItems } from "./line-items.js";
import { type NewCommercialDocument, newCommercialFields } from "./quote.js";
import { submissionRequestSchema } from "./schema.js";
import type { Order, Quote } from "./types.js";
import { checkInputs } from "./validate-input.js";

/** The initial content of a new order written from scratch. */
export function createOrder(input: NewCommercialDocument): Order {
  return { kind: "order", ...newCommercialFields(input), sourceQuote: null, submissions: {} };
}

/**
 * The initial content of an order converted from a quote: header, notes and lines copied (line
 * ids kept), the quote named as its source. The quote itself is not changed.
 */
export function convertQuoteToOrder(
  quote: Quote,
  options: { quoteId: DocId; owner?: UserId; now?: number },
): Order {
  const now = options.now ?? Date.now();
  const lineItems: Order["lineItems"] = {};
  for (const line of sortedLineItems(quote)) {
    const { id, ...item } = line;
    lineItems[id] = { ...item, options: { ...item.options } };
  }
  return {
    kind: "order",
    schemaVersion: quote.schemaVersion,
    owner: options.owner ?? quote.owner,
    organization: quote.organization,
    customer: { name: quote.customer.name, contact: quote.customer.contact },
    projectName: quote.projectName,
    notes: String(quote.notes),
    currency: quote.currency,
    createdAt: now,
    updatedAt: now,
    lineItems,
    sourceQuote: options.quoteId,
    submissions: {},
  };
}

/**
 * What makes an order complete enough to submit: a customer name and at least one line.
 * (Each line's numbers are already guaranteed by the schema.) Returns the problems, or none.
 */
export function checkOrderComplete(order: Order): Violation[] {
  const problems: Violation[] = [];
  if (order.customer.name.trim() === "") {
    problems.push({ path: ["customer", "name"], message: "the order needs a customer name" });
  }
  if (Object.keys(order.lineItems).length === 0) {
    problems.push({ path: ["lineItems"], message: "the order needs at least one line item" });
  }
  return problems;
}

/** What a client writes to ask for a submission. */
export interface NewSubmissionRequest {
  requestedBy: UserId;
  /** `getHeads(order)` just before this request: the order as submitted. */
  heads: readonly string[];
  lastSyncAt: number | null;
  /** The relay's receipt of the last complete sync; without it the relay rejects the request. */
  lastSyncReceipt?: string | null;
  now?: number;
}

/**
 * Writes one submission request into the order and returns its fresh request id. Entries are
 * keyed by request id, so requests from several devices never overwrite each other.
 */
export function addSubmissionRequest(order: Order, input: NewSubmissionRequest): RequestId {
  const requestedAt = input.now ?? Date.now();
  const request = {
    requestedBy: input.requestedBy,
    requestedAt,
    heads: [...input.heads],
    lastSyncAt: input.lastSyncAt,
    lastSyncReceipt: input.lastSyncReceipt ?? null,
  };
  checkInputs([["submission", submissionRequestSchema, request]]);
  const id = newRequestId();
  order.submissions[id] = request;
  return id;
}
