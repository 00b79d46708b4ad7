import { type Doc, hasHeads } from "@automerge/automerge";
import type { RequestId } from "../docs/ids.js";
import { own } from "../docs/own.js";
import type { Ledger, Order } from "../docs/types.js";
import { changesSinceSubmission } from "../policy/submission-state.js";

/**
 * The submission request that already submits the order as it is now, if any: one still waiting
 * for its outcome, or one accepted, whose heads the order has not changed since (writing a
 * request changes the order's heads, so "the same heads" means no change but bookkeeping since
 * that request's heads). Submitting again would make a revision with nothing in it. A rejected
 * request does not stand: the user may submit again. Newest first.
 */
export function standingRequest(
  order: Doc<Order>,
  ledger: Ledger | undefined,
): RequestId | undefined {
  const outcomes = ledger?.submissions ?? {};
  const candidates = (
    Object.entries(order.submissions) as [RequestId, Order["submissions"][RequestId]][]
  )
    .filter(([id]) => {
      const outcome = own(outcomes, id);
      return outcome === undefined || outcome.status === "accepted";
    })
    .sort(([, a], [, b]) => b.requestedAt - a.requestedAt);
  for (const [id, request] of candidates) {
    if (!hasHeads(order, [...request.heads])) continue;
    if (changesSinceSubmission(order, request.heads).length === 0) return id;
  }
  return undefined;
}
