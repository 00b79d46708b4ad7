import type { Patch } from "@automerge/automerge";
import { useMemo, useSyncExternalStore } from "react";
import {
  type AcceptedOutcome,
  changesSinceSubmission,
  type DocId,
  type Ledger,
  type Order,
  type SubmissionState,
  submissionState,
  transmittedView,
} from "../client/index.js";
import { useStores } from "./provider.js";
import { keepUnchanged, type ValueStore } from "./value-store.js";

/** A snapshot derived from the order and the ledger, the same object while it is unchanged. */
function useDerived<R>(
  id: string,
  derive: (order: Order, ledger: Ledger, previous: R | undefined) => R,
): R {
  const stores = useStores();
  // Both suspend while they open; a failed open goes to the error boundary.
  const order = stores.document("order", id).read().store;
  const ledger = stores.ledger().read().store;
  const source = useMemo(() => derivedSource(order, ledger, derive), [order, ledger, derive]);
  return useSyncExternalStore(source.subscribe, source.get, source.get);
}

function derivedSource<R>(
  order: ValueStore<Order>,
  ledger: ValueStore<Ledger>,
  derive: (order: Order, ledger: Ledger, previous: R | undefined) => R,
) {
  let inputs: [Order, Ledger] | undefined;
  let result: R | undefined;
  return {
    subscribe(listener: () => void) {
      const a = order.subscribe(listener);
      const b = ledger.subscribe(listener);
      return () => {
        a();
        b();
      };
    },
    get(): R {
      const o = order.get();
      const l = ledger.get();
      if (inputs && inputs[0] === o && inputs[1] === l) return result as R;
      inputs = [o, l];
      result = derive(o, l, result);
      return result;
    },
  };
}

function accepted(state: SubmissionState): AcceptedOutcome | null {
  if (state.status === "submitted") return state.accepted;
  return state.status === "draft" ? null : state.lastAccepted;
}

function viewAt(order: Order, heads: string[]): Order | null {
  try {
    return transmittedView(order, heads) as Order;
  } catch {
    return null;
  }
}

/**
 * Where an order stands (`draft`, `pending`, `submitted` with its order number, `rejected` with
 * the relay's reasons), from the order's requests and the user's ledger; the same as
 * `client.orders.state(id)`, followed. Suspends while the order or the ledger opens; a failed open
 * is thrown to the error boundary. Re-renders when the state changes, not on every edit of the
 * order.
 *
 * @example
 * ```tsx
 * const state = useOrderState(id);
 * if (state.status === "submitted") return <>Order {state.accepted.orderNumber}</>;
 * ```
 */
export function useOrderState(id: DocId | string): SubmissionState {
  const derive = useMemo(
    () => (order: Order, ledger: Ledger, previous: SubmissionState | undefined) =>
      keepUnchanged(previous, submissionState(id as DocId, order, ledger)),
    [id],
  );
  return useDerived(id, derive);
}

/**
 * The order as the relay accepted it (its latest accepted revision, viewed at the heads that
 * were submitted), or null when no revision was accepted; the same as
 * `client.orders.transmitted(id)`, followed. Edits made after the submission do not change it
 * (they are changes since submission), so they do not re-render the component. Suspends while
 * the order or the ledger opens; a failed open is thrown to the error boundary.
 *
 * @example
 * ```tsx
 * const sent = useTransmitted(id);
 * return sent ? <Lines order={sent} /> : <p>Not transmitted yet</p>;
 * ```
 */
export function useTransmitted(id: DocId | string): Order | null {
  const derive = useMemo(() => {
    let heads = "";
    let view: Order | null = null;
    return (order: Order, ledger: Ledger) => {
      const outcome = accepted(submissionState(id as DocId, order, ledger));
      const key = outcome ? outcome.heads.join(",") : "";
      // History at given heads never changes: recompute only when other heads were accepted.
      if (key !== heads) {
        // A revision submitted from another device is viewable once its changes arrived here.
        const known = outcome ? viewAt(order, outcome.heads) : null;
        heads = outcome && !known ? "" : key;
        view = known;
      }
      return view;
    };
  }, [id]);
  return useDerived(id, derive);
}

/**
 * What changed in the order since its latest accepted revision, as Automerge patches without
 * bookkeeping fields (`client.orders.changesSinceSubmission(id)`, followed): empty when there is
 * nothing to amend (or nothing was accepted yet). Re-renders when the changes do. Suspends while
 * the order or the ledger opens; a failed open is thrown to the error boundary.
 *
 * @example
 * ```tsx
 * const changes = useChangesSinceSubmission(id);
 * <button disabled={changes.length === 0}>Submit amendment</button>
 * ```
 */
export function useChangesSinceSubmission(id: DocId | string): readonly Patch[] {
  const derive = useMemo(
    () => (order: Order, ledger: Ledger, previous: readonly Patch[] | undefined) => {
      const outcome = accepted(submissionState(id as DocId, order, ledger));
      let changes: readonly Patch[] = [];
      try {
        if (outcome) changes = changesSinceSubmission(order, outcome.heads);
      } catch {
        // The accepted revision came from another device and has not arrived here yet.
      }
      return keepUnchanged(previous, changes);
    },
    [id],
  );
  return useDerived(id, derive);
}

/**
 * The user's ledger: the relay's receipts (submission outcomes with order numbers, assistance
 * ticket numbers), followed as the relay writes it. Read-only. Suspends while it opens; a failed
 * open is thrown to the error boundary.
 *
 * @example
 * ```tsx
 * const ledger = useLedger();
 * const ticket = ledger.assistance[requestId]?.ticketNumber;
 * ```
 */
export function useLedger(): Ledger {
  const stores = useStores();
  const { store } = stores.ledger().read();
  return useSyncExternalStore(store.subscribe, store.get, store.get);
}
