import * as A from "@automerge/automerge";

/**
 * automerge numbers each actor's changes 1, 2, 3… and every change it makes depends, directly or
 * through others, on its actor's previous one. automerge 3.5 checks the numbering when it applies
 * a change but not the dependency: a change re-encoded with `deps` that leave out its actor's
 * previous change applies, saves incrementally and syncs, but the whole-document save then writes
 * a chunk nobody can load ("invalid changes: missing ops"). Every new device gets that chunk on
 * its first sync, and the relay reads it back after a restart (docs/security.md, "Stateful wire
 * fuzzer"). So the gate refuses a change set unless each new change has its actor's previous
 * change in its past.
 *
 * `added` are the changes the sync message adds to `before`, decoded. Cost: one pass over them, plus, per actor whose first new change continues older
 * ones, one `getChangesMetaSince` from that change's older ancestors (for an honest change, the
 * few changes concurrent with it).
 *
 * @example
 * const problem = brokenActorChain(before, A.getChanges(before, after).map(A.decodeChange));
 * if (problem) refuse(problem);
 */
export function brokenActorChain(
  before: A.Doc<unknown>,
  added: readonly ChangeHeader[],
): string | undefined {
  const byHash = new Map(added.map((c) => [c.hash, c]));
  const addedSeqs = new Set(added.map((c) => `${c.seq}@${c.actor}`));
  // Per new change: the highest seq of each actor among its new ancestors (itself included),
  // and the older changes it reaches directly or through new ones.
  const clocks = new Map<string, Map<string, number>>();
  const older = new Map<string, Set<string>>();
  for (const change of topological(added, byHash)) {
    const clock = new Map<string, number>();
    const reached = new Set<string>();
    for (const dep of change.deps) {
      const parent = clocks.get(dep);
      if (!parent) {
        reached.add(dep);
        continue;
      }
      for (const [actor, seq] of parent) clock.set(actor, Math.max(seq, clock.get(actor) ?? 0));
      for (const hash of older.get(dep) ?? []) reached.add(hash);
    }
    const seen = clock.get(change.actor) ?? 0;
    if (change.seq > 1 && seen < change.seq - 1) {
      // Its actor's previous change is not among its new ancestors: it must be an older one.
      const previousIsNew = addedSeqs.has(`${change.seq - 1}@${change.actor}`);
      if (previousIsNew || !olderChangeInPast(before, change.actor, change.seq - 1, reached))
        return `change ${change.hash} (seq ${change.seq} of actor ${change.actor}) does not depend on its actor's change ${change.seq - 1}: automerge makes no such change, and a document holding it can no longer be loaded`;
    }
    clock.set(change.actor, change.seq);
    clocks.set(change.hash, clock);
    older.set(change.hash, reached);
  }
  return undefined;
}

/** What the check reads of a change (a `DecodedChange` or a `ChangeMetadata`). */
export interface ChangeHeader {
  readonly hash: string;
  readonly actor: string;
  readonly seq: number;
  readonly deps: readonly string[];
}

/** Whether the actor's change `seq`, already in `before`, is an ancestor of `heads`. */
function olderChangeInPast(
  before: A.Doc<unknown>,
  actor: string,
  seq: number,
  heads: Set<string>,
): boolean {
  if (heads.size === 0) return false;
  return !A.getChangesMetaSince(before, [...heads]).some((c) => c.actor === actor && c.seq <= seq);
}

/** The new changes, each after its new dependencies. */
function topological(
  added: readonly ChangeHeader[],
  byHash: Map<string, ChangeHeader>,
): ChangeHeader[] {
  const done = new Set<string>();
  const order: ChangeHeader[] = [];
  for (const root of added) {
    const stack: [ChangeHeader, number][] = [[root, 0]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as [ChangeHeader, number];
      const [change, next] = top;
      if (done.has(change.hash)) {
        stack.pop();
        continue;
      }
      const dep = change.deps[next];
      if (dep === undefined) {
        done.add(change.hash);
        order.push(change);
        stack.pop();
        continue;
      }
      top[1] = next + 1;
      const parent = byHash.get(dep);
      if (parent && !done.has(parent.hash)) stack.push([parent, 0]);
    }
  }
  return order;
}
