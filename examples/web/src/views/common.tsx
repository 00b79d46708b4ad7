// Pieces several views share: gate reasons, the status badge, an error card, a stable order.
import type { GatedFunction, OmsClient, SubmissionState } from "oms-sync";

/** Why a gated function is disabled now, or "" when it is not. */
export const reasonFor = (c: OmsClient, fn: GatedFunction) =>
  c.gate.isEnabled(fn)
    ? ""
    : `Disabled: no complete sync for ${c.gate.state.daysSinceSync} days. Sync to enable it.`;

/** Newest first, then by id: the same order on every render and every device. */
export function stable<T extends { id: string; doc: { createdAt?: number } }>(items: T[]): T[] {
  return [...items].sort(
    (a, b) => (b.doc.createdAt ?? 0) - (a.doc.createdAt ?? 0) || (a.id < b.id ? -1 : 1),
  );
}

export function StatusBadge({ state }: { state: SubmissionState }) {
  switch (state.status) {
    case "submitted":
      return (
        <>
          <span className="badge submitted">{state.accepted.orderNumber}</span>{" "}
          <span className="muted">rev. {state.accepted.revision}</span>
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

export function ErrorCard({ error }: { error: Error }) {
  return (
    <div className="card">
      <p className="reason" data-testid="error">
        {error.message}
      </p>
    </div>
  );
}

export const Loading = () => <p className="muted">Loading…</p>;
