import type { OmsClient, Order, SubmissionState } from "oms-sync";
import { useState } from "react";
import { plural } from "../format.js";
import { useClient, useHandle, useLive } from "../live.js";
import { useAction } from "../notice.js";
import { ErrorCard, Loading, reasonFor } from "./common.js";
import { HeaderFields } from "./HeaderFields.js";
import { LinesTable } from "./LinesTable.js";
import { addDemoLine } from "./QuoteEditor.js";

/** Why Submit is disabled now, if it is: the gate first (a warning), then the order's state. */
function submitBlocked(
  c: OmsClient,
  state: SubmissionState,
  changes: number,
): { text: string; warning: boolean } {
  const gated = reasonFor(c, "submitOrder");
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
  const act = useAction();
  const [submitting, setSubmitting] = useState(false);
  const { handle, doc, error } = useHandle(() => c.orders.open(id), [c, id]);
  // State, transmitted version and changes follow the order and the ledger (numbers, outcomes).
  const { value: facts } = useLive(
    async () => {
      const state = await c.orders.state(id);
      const changes = state.status === "draft" ? [] : await c.orders.changesSinceSubmission(id);
      const transmitted = await c.orders.transmitted(id).catch(() => undefined);
      return { state, changes: changes.length, transmitted };
    },
    (again) => {
      const undoes: (() => void)[] = [];
      if (handle) undoes.push(handle.subscribe(again));
      const ledger = c.ledger.subscribe(again);
      return async () => {
        for (const u of undoes) u();
        (await ledger)();
      };
    },
    [c, id, handle, doc],
  );
  if (error) return <ErrorCard error={error} />;
  if (!handle || !doc || !facts) return <Loading />;
  const { state, changes, transmitted } = facts;
  const change = (fn: (d: Order) => void) => handle.change(fn);
  const blocked = submitBlocked(c, state, changes);
  const prices = reasonFor(c, "changePrices");
  return (
    <>
      <div className="card" data-testid="order-view">
        <h2>
          Order{" "}
          {state.status === "submitted" ? (
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
        <HeaderFields doc={doc} change={change} testids={false} />
        <LinesTable doc={doc} change={change} />
        <p className="actions">
          <button
            type="button"
            disabled={prices !== ""}
            title={prices || undefined}
            onClick={() => act(() => change(addDemoLine))}
          >
            Add line
          </button>
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
