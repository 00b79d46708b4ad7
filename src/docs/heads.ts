/** True when two sets of Automerge heads (hex or automerge-repo encoded, not mixed) are the same. */
export function sameHeads(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((h) => set.has(h));
}
