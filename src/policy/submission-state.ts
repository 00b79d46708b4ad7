import { type Doc, diff, getHeads, hasHeads, type Patch, view } from "@automerge/automerge";
import { OmsError } from "../docs/errors.js";
import type { DocId, RequestId } from "../docs/ids.js";
import { own } from "../docs/own.js";
import type { AcceptedOutcome, Ledger, Order, RejectedOutcome } from "../docs/types.js";

/** Where an order stands, from the order's own requests and the user's ledger. */
export type SubmissionState =
  | { readonly status: "draft" }
  | {
      readonly status: "pending";
      /** Requests written but not yet answered by the relay. */
      readonly pending: readonly RequestId[];
      readonly lastAccepted: AcceptedOutcome | null;
    }
  | {
      readonly status: "submitted";
      readonly requestId: RequestId;
      readonly accepted: AcceptedOutcome;
    }
  | {
      readonly status: "rejected";
      readonly requestId: RequestId;
      readonly rejected: RejectedOutcome;
      readonly lastAccepted: AcceptedOutcome | null;
    };

/**
 * The submission state of an order: pending while any request has no outcome; otherwise the
 * latest outcome decides (a rejection after an accepted revision leaves that revision standing
 * in `lastAccepted`).
 */
export function submissionState(
  orderId: DocId,
  order: Order,
  ledger: Ledger | undefined,
): SubmissionState {
  const outcomes = ledger?.submissions ?? {};
  const requestIds = Object.keys(order.submissions) as RequestId[];
  const pending = requestIds.filter((id) => own(outcomes, id) === undefined);
  const mine = (Object.entries(outcomes) as [RequestId, Ledger["submissions"][RequestId]][])
    .filter(([, o]) => o.orderId === orderId)
    .sort(([, a], [, b]) => a.processedAt - b.processedAt);
  let lastAccepted: [RequestId, AcceptedOutcome] | null = null;
  for (const [id, o] of mine) {
    if (o.status === "accepted" && (!lastAccepted || o.revision > lastAccepted[1].revision))
      lastAccepted = [id, o];
  }
  if (pending.length > 0)
    return { status: "pending", pending, lastAccepted: lastAccepted?.[1] ?? null };
  const latest = mine.filter(([, o]) => o.status !== "duplicate").at(-1);
  if (latest && latest[1].status === "rejected") {
    return {
      status: "rejected",
      requestId: latest[0],
      rejected: latest[1],
      lastAccepted: lastAccepted?.[1] ?? null,
    };
  }
  if (lastAccepted)
    return { status: "submitted", requestId: lastAccepted[0], accepted: lastAccepted[1] };
  return { status: "draft" };
}

/** The accepted revision that stands in a state: the submitted one, else the last accepted. */
export function standingAcceptance(state: SubmissionState): AcceptedOutcome | null {
  if (state.status === "submitted") return state.accepted;
  return state.status === "draft" ? null : state.lastAccepted;
}

// `view` does not fail on heads it does not know: it must be asked first.
function requireHeads(order: Doc<Order>, heads: readonly string[]): void {
  if (!hasHeads(order, [...heads])) {
    throw new OmsError(
      "NOT_FOUND",
      "the submitted version of this order is not on this device yet; sync to fetch it",
    );
  }
}

/**
 * The order as it was transmitted: the document viewed at the accepted heads. It cannot change,
 * whatever is edited or merged later.
 */
export function transmittedView(order: Doc<Order>, heads: readonly string[]): Doc<Order> {
  requireHeads(order, heads);
  return view(order, [...heads]);
}

/** Fields whose changes are bookkeeping, not content: not shown as "changes since submission". */
const bookkeeping = new Set(["submissions", "updatedAt"]);

/**
 * What changed in the order since `heads` (usually the accepted heads), as Automerge patches,
 * without bookkeeping fields. Empty means nothing to amend.
 */
export function changesSinceSubmission(order: Doc<Order>, heads: readonly string[]): Patch[] {
  requireHeads(order, heads);
  return diff(order, [...heads], getHeads(order)).filter(
    (patch) => !bookkeeping.has(String(patch.path[0])),
  );
}
