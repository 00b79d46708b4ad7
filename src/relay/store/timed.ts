import type { StoreTiming } from "./types.js";

/**
 * `target` with every method timed: `onTiming("<area>.<method>", seconds)` when its promise
 * settles (or it returns). Both engines are measured the same way, at the interface.
 */
export function timed<T extends object>(area: string, target: T, onTiming?: StoreTiming): T {
  if (!onTiming) return target;
  const wrappers = new Map<PropertyKey, { fn: unknown; wrapped: unknown }>();
  return new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver);
      if (typeof value !== "function" || typeof property !== "string") return value;
      const known = wrappers.get(property);
      if (known?.fn === value) return known.wrapped;
      const operation = `${area}.${property}`;
      const wrapped = (...args: unknown[]) => {
        const start = performance.now();
        const done = () => onTiming(operation, (performance.now() - start) / 1000);
        let result: unknown;
        try {
          result = (value as (...a: unknown[]) => unknown).apply(object, args);
        } catch (err) {
          done();
          throw err;
        }
        if (result instanceof Promise) return result.finally(done);
        done();
        return result;
      };
      wrappers.set(property, { fn: value, wrapped });
      return wrapped;
    },
  });
}
