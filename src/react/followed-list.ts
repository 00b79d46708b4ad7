import { OmsError } from "../client/index.js";
import { keepUnchanged, ValueStore } from "./value-store.js";

/** A list read once and then followed: what `useQuarantine` and `useInbox` read. */
export interface FollowedState<T> {
  readonly items: readonly T[];
  readonly loading: boolean;
  readonly error: OmsError | null;
}

/**
 * A shared store of a list the client reads with `read()` and pushes with `follow(listener)`
 * (which may resolve its unsubscribe later). Reads again on each first subscriber, since nothing
 * was followed while nobody listened; items that did not change keep their identity.
 */
export function followedList<T>(
  what: string,
  read: () => Promise<T[]>,
  follow: (listener: (items: T[]) => void) => (() => void) | Promise<() => void>,
): ValueStore<FollowedState<T>> {
  let generation = 0;
  let off: (() => void) | undefined;
  const store: ValueStore<FollowedState<T>> = new ValueStore<FollowedState<T>>(
    { items: [], loading: true, error: null },
    {
      onFirst: () => {
        const mine = ++generation;
        const take = (items: T[]) => {
          if (mine === generation)
            store.set({
              items: keepUnchanged(store.get().items, items),
              loading: false,
              error: null,
            });
        };
        const fail = (error: unknown) => {
          if (mine !== generation) return;
          const err =
            error instanceof OmsError
              ? error
              : new OmsError("INTERNAL", `${what} could not be read: ${String(error)}`, {
                  cause: error,
                });
          store.set({ ...store.get(), loading: false, error: err });
        };
        void Promise.resolve(follow(take))
          .then((stop) => {
            if (mine === generation) off = stop;
            else stop();
            return read().then(take);
          })
          .catch(fail);
      },
      onLast: () => {
        generation++;
        off?.();
        off = undefined;
      },
    },
  );
  return store;
}
