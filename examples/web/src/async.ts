// The one read the bindings leave to the page: a value computed asynchronously from the client
// (the ledger's ticket numbers, an order's changes since submission), read again when what it
// depends on changes.
import { type DependencyList, useEffect, useState } from "react";

/** `read()` now and whenever `deps` change or `follow` calls back; the last value meanwhile. */
export function useAsync<T>(
  read: () => Promise<T>,
  deps: DependencyList,
  follow?: (again: () => void) => (() => void) | Promise<() => void>,
): T | undefined {
  const [value, setValue] = useState<T | undefined>(undefined);
  useEffect(() => {
    let live = true;
    const again = () =>
      void read().then(
        (v) => live && setValue(v),
        () => undefined,
      );
    again();
    const undo = follow?.(again);
    return () => {
      live = false;
      void Promise.resolve(undo).then((u) => u?.());
    };
    // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what it reads.
  }, deps);
  return value;
}
