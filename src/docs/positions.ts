import { generateKeyBetween, generateNKeysBetween } from "fractional-indexing";

// Line items carry fractional-index keys so that concurrent adds and moves never renumber
// anything; equal keys (two devices inserting at the same place) are ordered by id.

/** True when `key` is a key the ordering functions accept. */
export function isPositionKey(key: unknown): key is string {
  if (typeof key !== "string" || key.length === 0 || key.length > 256) return false;
  try {
    generateKeyBetween(key, null);
    return true;
  } catch {
    return false;
  }
}

/** Compares two (position, id) pairs: the one total order of line items on every replica. */
export function comparePositioned(
  a: { position: string; id: string },
  b: { position: string; id: string },
): number {
  if (a.position !== b.position) return a.position < b.position ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Keys for inserting `count` items at `index` of a list sorted by (position, id). Returns the new
 * keys and, when the neighbours share a key, new keys for the tied items that must move after the
 * insertion so that the requested order holds.
 */
export function keysForInsert<T extends { position: string; id: string }>(
  sorted: readonly T[],
  index: number,
  count = 1,
): { keys: string[]; rekey: { id: string; position: string }[] } {
  const at = Math.max(0, Math.min(index, sorted.length));
  const before = sorted[at - 1];
  const after = sorted[at];
  if (!before || !after || before.position < after.position) {
    return {
      keys: generateNKeysBetween(before?.position ?? null, after?.position ?? null, count),
      rekey: [],
    };
  }
  // A tie: re-key the run of tied items from `at` on, together with the new ones.
  let end = at;
  while (end < sorted.length && sorted[end]?.position === before.position) end++;
  const upper = sorted[end]?.position ?? null;
  const tied = sorted.slice(at, end);
  const all = generateNKeysBetween(before.position, upper, count + tied.length);
  return {
    keys: all.slice(0, count),
    rekey: tied.map((item, i) => ({ id: item.id, position: all[count + i] as string })),
  };
}
