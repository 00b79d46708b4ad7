import type { SubmissionState } from "oms-sync";
import {
  type GateView,
  useClient,
  useGate,
  useOrder,
  useOrderState,
  useTransmitted,
} from "oms-sync/react";
import { useState } from "react";
import { useAsync } from "../async.js";
import { plural } from "../format.js";
import { useAction } from "../notice.js";
import { seenRow } from "./Catalogue.js";
import { RowState, reasonFor } from "./common.js";
import { HeaderFields } from "./HeaderFields.js";
import { LinesTable } from "./LinesTable.js";
import { AddLine } from "./QuoteEditor.js";

/** Why Submit is disabled now, if it is: the gate first (a warning), then the order's state. */
function submitBlocked(
  gate: GateView,
  state: SubmissionState,
  changes: number | undefined,
): { text: string; warning: boolean } {
  const gated = reasonFor(gate, "submitOrder");
  if (gated) return { text: gated, warning: true };
  if (state.status === "pending")
    return { text: "Submitted: the next sync sends it.", warning: false };
  if (state.status === "submitted" && changes === 0)
    return { text: `No changes since revision ${state.accepted.revision}.`, warning: false };
  return { text: "", warning: false };
}

/** An order: editable, its submission state and number, what was transmitted and changed since. */
export function OrderView({ id }: { id: string }) {
  const c = useClient();
  const gate = useGate();
  const act = useAction();
  const [submitting, setSubmitting] = useState(false);
  // Each suspends while the order (and the ledger) opens.
  const [order, change, handle] = useOrder(id);
  const state = useOrderState(id);
  const transmitted = useTransmitted(id);
  // Counted again after every edit of the order and every new outcome.
  const changes = useAsync(
    async () => (state.status === "draft" ? 0 : (await c.orders.changesSinceSubmission(id)).length),
    [c, id, order, state],
  );
  // Someone else's order (a manager's view of a rep's): its number is in the owner's ledger, so
  // the catalogue's row tells it.
  const row = order.owner !== c.user.userId ? seenRow(id) : undefined;
  const blocked = submitBlocked(gate, state, changes);
  return (
    <>
      <div className="card" data-testid="order-view">
        <h2>
          Order{" "}
          {row?.orderNumber ? (
            <>
              <span className="badge submitted" data-testid="order-number">
                {row.orderNumber}
              </span>{" "}
              <span className="muted small">
                revision {row.revision} · {row.owner}'s order
              </span>
            </>
          ) : row ? (
            <RowState row={row} />
          ) : state.status === "submitted" ? (
            <>
              <span className="badge submitted" data-testid="order-number">
                {state.accepted.orderNumber}
              </span>{" "}
              <span className="muted small">revision {state.accepted.revision}</span>
            </>
          ) : state.status === "pending" ? (
            <span className="badge pending" data-testid="order-pending">
              Submitted, waiting for the next sync
            </span>
          ) : state.status === "rejected" ? (
            <span className="badge rejected">Rejected: {state.rejected.reason}</span>
          ) : (
            <span className="badge">Draft</span>
          )}
        </h2>
        <HeaderFields doc={order} change={change} testids={false} />
        <LinesTable doc={order} change={change} />
        <p className="actions">
          <AddLine change={change} />
          <button
            type="button"
            data-testid="submit"
            disabled={submitting || blocked.text !== ""}
            title={blocked.text || undefined}
            onClick={() =>
              act(async () => {
                setSubmitting(true);
                try {
                  await c.orders.submit(handle.id);
                } finally {
                  setSubmitting(false);
                }
              })
            }
          >
            {state.status === "submitted" || state.status === "pending"
              ? "Submit amendment"
              : "Submit order"}
          </button>
          <span className={blocked.warning ? "reason" : "muted"} data-testid="submit-reason">
            {blocked.text}
          </span>
        </p>
      </div>
      {transmitted && (
        <div className="card">
          <h3>As transmitted</h3>
          <LinesTable doc={transmitted} />
          <p className="muted" data-testid="changes-since">
            {changes
              ? `${plural(changes, "change")} since submission: submit an amendment to send them.`
              : "No changes since submission."}
          </p>
        </div>
      )}
    </>
  );
}
