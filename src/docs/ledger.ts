import { deepEqual } from "./deep-equal.js";
import { OmsError } from "./errors.js";
import type { DocId, OrganizationId, RequestId, UserId } from "./ids.js";
import { SCHEMA_VERSION } from "./kinds.js";
import { own } from "./own.js";
import type { AssistanceReceipt, Ledger, SubmissionOutcome } from "./types.js";

export function createLedger(input: { owner: UserId; organization: OrganizationId }): Ledger {
  return {
    kind: "ledger",
    schemaVersion: SCHEMA_VERSION,
    owner: input.owner,
    organization: input.organization,
    submissions: {},
    assistance: {},
  };
}

/**
 * Records the relay's outcome of one submission request. Writing the same outcome again is a
 * no-op (the relay retries ledger writes); a different outcome for the same request is a bug.
 */
export function recordSubmissionOutcome(
  doc: Ledger,
  requestId: RequestId,
  outcome: SubmissionOutcome,
): void {
  const existing = own(doc.submissions, requestId);
  if (existing !== undefined) {
    // Read back from Automerge, the stored outcome has its keys sorted: compare structurally,
    // without the seal (a rotated secret gives another seal to the same outcome).
    if (deepEqual(unsealed(JSON.parse(JSON.stringify(existing))), unsealed(outcome))) return;
    throw new OmsError(
      "INTERNAL",
      `request ${requestId} already has a different outcome in the ledger; a request gets exactly one outcome`,
    );
  }
  doc.submissions[requestId] = { ...outcome };
}

/** Records the ticket of an assistance request (idempotent like `recordSubmissionOutcome`). */
export function recordAssistanceReceipt(doc: Ledger, id: DocId, receipt: AssistanceReceipt): void {
  const existing = own(doc.assistance, id);
  if (existing !== undefined && existing.ticketNumber !== receipt.ticketNumber) {
    throw new OmsError(
      "INTERNAL",
      `assistance request ${id} already has ticket ${existing.ticketNumber}`,
    );
  }
  if (existing === undefined) doc.assistance[id] = { ...receipt };
  else if (existing.state !== receipt.state) existing.state = receipt.state;
}

function unsealed(outcome: SubmissionOutcome): Omit<SubmissionOutcome, "seal"> {
  const { seal: _seal, ...rest } = outcome;
  return rest;
}
