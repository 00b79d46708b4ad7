/**
 * The value stored under `key` in a document map, or undefined. Plain lookups also find
 * `Object.prototype` members, so a key such as "constructor" would look present.
 */
export function own<T>(map: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}
