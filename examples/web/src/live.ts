// Until oms-sync/react lands: the few subscriptions the views need.
import type { GateState, OmsClient, OmsDocumentHandle, SyncStatus } from "oms-sync";
import {
  createContext,
  type DependencyList,
  useContext,
  useEffect,
  useState,
  useSyncExternalStore,
} from "react";

export const ClientContext = createContext<OmsClient | null>(null);

export function useClient(): OmsClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error("useClient: no client above this component");
  return client;
}

export function useSyncStatus(): SyncStatus {
  const c = useClient();
  return useSyncExternalStore(
    (cb) => c.sync.subscribe(cb),
    () => c.sync.status,
  );
}

export function useGate(): GateState {
  const c = useClient();
  const [state, setState] = useState(() => c.gate.state);
  useEffect(() => c.gate.subscribe(setState), [c]);
  return state;
}

/** A value read asynchronously, read again whenever `subscribe` calls back. */
export function useLive<T>(
  read: () => Promise<T>,
  subscribe: (again: () => void) => (() => void) | Promise<() => void>,
  deps: DependencyList,
): { value: T | undefined; error: Error | undefined } {
  const [state, setState] = useState<{ value: T | undefined; error: Error | undefined }>({
    value: undefined,
    error: undefined,
  });
  useEffect(() => {
    let live = true;
    const again = () =>
      void read().then(
        (value) => live && setState({ value, error: undefined }),
        (error: Error) => live && setState({ value: undefined, error }),
      );
    again();
    const undo = subscribe(again);
    return () => {
      live = false;
      void Promise.resolve(undo).then((u) => u());
    };
    // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what it reads.
  }, deps);
  return state;
}

/** A document opened by `open`, followed through every local and remote change. */
export function useHandle<T>(
  open: () => Promise<OmsDocumentHandle<T>>,
  deps: DependencyList,
): { handle: OmsDocumentHandle<T> | undefined; doc: T | undefined; error: Error | undefined } {
  const [state, setState] = useState<{
    handle: OmsDocumentHandle<T> | undefined;
    doc: T | undefined;
    error: Error | undefined;
  }>({ handle: undefined, doc: undefined, error: undefined });
  useEffect(() => {
    let live = true;
    let undo = () => {};
    open().then(
      (handle) => {
        if (!live) return;
        setState({ handle, doc: handle.doc(), error: undefined });
        undo = handle.subscribe((doc) => live && setState({ handle, doc, error: undefined }));
      },
      (error: Error) => live && setState({ handle: undefined, doc: undefined, error }),
    );
    return () => {
      live = false;
      undo();
    };
    // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what it reads.
  }, deps);
  return state;
}
