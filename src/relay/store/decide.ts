import { OmsError } from "../../docs/errors.js";
import { sameHeads } from "../../docs/heads.js";
import type { DecisionInput, OutcomeRow } from "./types.js";

/** An accepted outcome of the order, as the decide rule needs it. */
export interface AcceptedRevision {
  readonly requestId: string;
  readonly revision: number;
  readonly orderNumber: string;
  readonly heads: readonly string[];
}

/**
 * What a request becomes, given the order's accepted revisions (read inside the decide
 * transaction): rejected as judged; a duplicate of the revision with the same heads; else the
 * next revision, which takes the order's number (or the organization's next one, `number`
 * undefined). Both engines run this same rule inside their transaction.
 */
export function planDecision(
  input: DecisionInput,
  accepted: readonly AcceptedRevision[],
): OutcomeRow & { needsNumber: boolean } {
  const base = {
    requestId: input.requestId,
    orderId: input.orderId,
    organization: input.organization,
    owner: input.owner,
    requestedBy: input.requestedBy,
    processedAt: input.processedAt,
    delivered: false,
    revision: null,
    orderNumber: null,
    heads: null,
    duplicateOf: null,
    code: null,
    reason: null,
    needsNumber: false,
  };
  if (input.rejection) return { ...base, status: "rejected", ...input.rejection };
  const same = accepted.find((a) => sameHeads(a.heads, input.heads));
  if (same) {
    return {
      ...base,
      status: "duplicate",
      revision: same.revision,
      orderNumber: same.orderNumber,
      duplicateOf: same.requestId,
    };
  }
  return {
    ...base,
    status: "accepted",
    revision: accepted.length + 1,
    heads: [...input.heads],
    needsNumber: true,
  };
}

/** A number format that repeated a number the organization already uses. */
export function numberCollision(option: string, organization: string, n: number, number: string) {
  return new OmsError(
    "CONFLICT",
    `${option} gave "${number}" for organization ${organization} (n = ${n}), a number that organization already uses; numbers must be unique per organization: fix ${option}. This row is retried with backoff; other rows go on`,
  );
}
