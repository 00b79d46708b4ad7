// Pieces several views share: gate reasons, the status badge, an error note, money of a row.
import { type CurrencyCode, formatMoney, type GatedFunction, type SubmissionState } from "oms-sync";
import type { GateView, ListRow } from "oms-sync/react";

/** Why a gated function is disabled now, or "" when it is not. */
export const reasonFor = (gate: GateView, fn: GatedFunction) =>
  gate.isEnabled(fn)
    ? ""
    : `Disabled: no complete sync for ${gate.daysSinceSync} days. Sync to enable it.`;

/** An order's state as a badge: its number once submitted. */
export function StatusBadge({
  status,
  orderNumber,
  revision,
}: {
  status: SubmissionState["status"] | null;
  orderNumber?: string | null;
  revision?: number | null;
}) {
  switch (status) {
    case "submitted":
      return (
        <>
          <span className="badge submitted">{orderNumber}</span>{" "}
          <span className="muted">rev. {revision}</span>
        </>
      );
    case "pending":
      return <span className="badge pending">Waiting for sync</span>;
    case "rejected":
      return <span className="badge rejected">Rejected</span>;
    default:
      return <span className="badge">Draft</span>;
  }
}

export const Loading = () => <p className="muted">Loading…</p>;

/** An error the bindings return as a value (a list that could not be read). */
export function ErrorNote({ error }: { error: Error }) {
  return (
    <p className="reason" data-testid="error">
      {error.message}
    </p>
  );
}

/** A row's total as money, or a dash when the row has none. */
export const rowTotal = (row: ListRow) =>
  row.total === null || !row.currency
    ? "—"
    : formatMoney({ currency: row.currency as CurrencyCode, minor: row.total });

/** A row's state (My rows and catalogue rows alike): the order's number once submitted. */
export const RowState = ({ row }: { row: ListRow }) => (
  <StatusBadge status={row.state} orderNumber={row.orderNumber} revision={row.revision} />
);
