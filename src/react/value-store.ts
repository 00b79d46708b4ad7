import { deepEqual } from "../client/index.js";

/**
 * The smallest external store React's `useSyncExternalStore` needs: a value that stays the same
 * object until it changes, and listeners told when it does. Every hook of oms-sync/react reads
 * through one of these, so a snapshot read twice in one render is the same object (no tearing,
 * no render loop).
 */
export class ValueStore<T> {
  #value: T;
  readonly #listeners = new Set<() => void>();
  readonly #onFirst: (() => void) | undefined;
  readonly #onLast: (() => void) | undefined;

  constructor(initial: T, hooks: { onFirst?: () => void; onLast?: () => void } = {}) {
    this.#value = initial;
    this.#onFirst = hooks.onFirst;
    this.#onLast = hooks.onLast;
  }

  readonly get = (): T => this.#value;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) this.#onFirst?.();
    return () => {
      if (!this.#listeners.delete(listener)) return;
      if (this.#listeners.size === 0) this.#onLast?.();
    };
  };

  get listening(): boolean {
    return this.#listeners.size > 0;
  }

  /** Replaces the value and tells listeners, unless it is the same object. */
  set(value: T): void {
    if (Object.is(value, this.#value)) return;
    this.#value = value;
    for (const listener of [...this.#listeners]) listener();
  }
}

/**
 * Keeps what did not change: returns `previous` when `next` equals it structurally, and for
 * arrays of rows with ids, reuses each previous row that is equal to its successor. A list
 * component that renders rows with `React.memo` then re-renders only the rows that changed.
 */
export function keepUnchanged<T>(previous: T | undefined, next: T): T {
  if (previous === undefined) return next;
  if (deepEqual(previous, next)) return previous;
  if (Array.isArray(previous) && Array.isArray(next)) {
    const byId = new Map<unknown, unknown>();
    for (const row of previous) {
      if (row && typeof row === "object" && "id" in row) byId.set(row.id, row);
    }
    return next.map((row) => {
      const was = row && typeof row === "object" && "id" in row ? byId.get(row.id) : undefined;
      return was !== undefined && deepEqual(was, row) ? was : row;
    }) as T;
  }
  return next;
}

/**
 * Remembers one component's selection from a snapshot, so the selector's result keeps its
 * identity while the selected part is structurally unchanged: `useSyncStatus((s) => s.progress)`
 * does not re-render on a change of `pendingDocuments`.
 */
export class Selection<S, R> {
  #has = false;
  #snapshot: S | undefined;
  #select: ((snapshot: S) => R) | undefined;
  #result: R | undefined;

  read(snapshot: S, select: (snapshot: S) => R): R {
    if (this.#has && Object.is(snapshot, this.#snapshot) && select === this.#select)
      return this.#result as R;
    const result = select(snapshot);
    this.#snapshot = snapshot;
    this.#select = select;
    if (!this.#has || !deepEqual(this.#result, result)) this.#result = result;
    this.#has = true;
    return this.#result as R;
  }
}
