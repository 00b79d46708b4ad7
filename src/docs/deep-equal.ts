/**
 * Structural equality of JSON-like values: plain objects compare by their keys and values in any
 * key order, arrays element by element. Objects read from an Automerge document come back with
 * their keys sorted while objects built in code keep insertion order, so a `JSON.stringify`
 * comparison calls equal values different.
 *
 * @example
 * ```ts
 * deepEqual({ a: 1, b: [2] }, { b: [2], a: 1 }); // true
 * ```
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
    // Automerge may hand back a string as a String-like object; compare by value then.
    return a instanceof String || b instanceof String ? String(a) === String(b) : false;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every(
    (k) =>
      Object.hasOwn(b, k) &&
      deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}
