import { useMemo, useState, useSyncExternalStore } from "react";
import {
  deepEqual,
  type GateState,
  isEnabled,
  type OmsClient,
  type SyncStatus,
} from "../client/index.js";
import { useStores } from "./provider.js";
import type { GateView } from "./types.js";
import { Selection, ValueStore } from "./value-store.js";

/**
 * The sync status (`client.sync.status`): state, progress, time of the last complete sync,
 * pending and quarantined counts. Never suspends, never throws: an `error` state is a value.
 *
 * Pass a selector to re-render only when the selected part changes (compared structurally):
 * `useSyncStatus((s) => s.state)` does not re-render while progress counts up.
 *
 * @example
 * ```tsx
 * const state = useSyncStatus((s) => s.state);
 * return <span className={`sync-${state}`}>{state}</span>;
 * ```
 */
export function useSyncStatus(): SyncStatus;
export function useSyncStatus<R>(select: (status: SyncStatus) => R): R;
export function useSyncStatus<R>(select?: (status: SyncStatus) => R): SyncStatus | R {
  const { client } = useStores();
  const subscribe = useMemo(() => subscribeTo(client), [client]);
  const [selection] = useState(() => new Selection<SyncStatus, unknown>());
  const read = select
    ? () => selection.read(client.sync.status, select as (s: SyncStatus) => unknown)
    : () => client.sync.status;
  return useSyncExternalStore(subscribe, read, read) as SyncStatus | R;
}

function subscribeTo(client: OmsClient) {
  return (listener: () => void) => client.sync.subscribe(() => listener());
}

/** Gate states that differ only in `ageMs` (which moves every millisecond) are the same. */
function sameGate(a: GateState, b: GateState): boolean {
  const { ageMs: _a, ...restA } = a;
  const { ageMs: _b, ...restB } = b;
  return deepEqual(restA, restB);
}

function viewOf(state: GateState): GateView {
  return { ...state, isEnabled: (fn) => isEnabled(state, fn), observedAt: Date.now() };
}

/** The gate's store: `client.gate.state` is a new object on every read, this one is not. */
function gateStore(client: OmsClient): ValueStore<GateView> {
  let off: (() => void) | undefined;
  const store: ValueStore<GateView> = new ValueStore(viewOf(client.gate.state), {
    onFirst: () => {
      off = client.gate.subscribe(update);
      update(client.gate.state);
    },
    onLast: () => off?.(),
  });
  function update(state: GateState): void {
    if (!sameGate(store.get(), state)) store.set(viewOf(state));
  }
  return store;
}

/**
 * The staleness gate: `level` (`ok`, `warn` from day 10, `blocked` after day 14), the days since
 * the last complete sync and the days left, the disabled functions, and `isEnabled(fn)` judged
 * on this state. Never suspends or throws. Re-renders when the level, the days or the disabled
 * set change (the gate checks itself every minute, and after each complete sync); with a
 * selector, only when the selected part changes.
 *
 * @example
 * ```tsx
 * const canSubmit = useGate((g) => g.isEnabled("submitOrder"));
 * <button disabled={!canSubmit}>Submit</button>
 * ```
 */
export function useGate(): GateView;
export function useGate<R>(select: (gate: GateView) => R): R;
export function useGate<R>(select?: (gate: GateView) => R): GateView | R {
  const stores = useStores();
  const store = stores.lazy("gate", () => gateStore(stores.client));
  const [selection] = useState(() => new Selection<GateView, unknown>());
  const read = select
    ? () => selection.read(store.get(), select as (g: GateView) => unknown)
    : store.get;
  return useSyncExternalStore(store.subscribe, read, read) as GateView | R;
}
