import * as A from "@automerge/automerge";
import { describe, expect, it } from "vitest";
import { brokenActorChain } from "../../src/relay/actor-chain-check.js";

type Doc = { x?: number; y?: number };
const X = "aa".repeat(16);
const Y = "bb".repeat(16);

/** `changes` applied to a copy of `before` as the relay's gate does, then checked. */
function check(before: A.Doc<Doc>, changes: Uint8Array[]): string | undefined {
  const message = A.encodeSyncMessage({ heads: [], need: [], have: [], changes });
  const [after] = A.receiveSyncMessage(A.clone(before), A.initSyncState(), message);
  return brokenActorChain(before, A.getChanges(before, after).map(A.decodeChange));
}

const forged = (change: Uint8Array, fields: Partial<A.DecodedChange>) =>
  A.encodeChange({
    ...A.decodeChange(change),
    hash: undefined,
    ...fields,
  } as unknown as A.DecodedChange);

const edit = (doc: A.Doc<Doc>, actor: string, f: (d: Doc) => void) =>
  A.change(A.clone(doc, { actor }), f);

describe("brokenActorChain", () => {
  const first = A.change(A.init<Doc>({ actor: X }), (d) => {
    d.x = 1;
  });

  it("passes honest changes: one after another, after another actor's, a whole new document", () => {
    const second = edit(first, X, (d) => {
      d.x = 2;
    });
    expect(check(first, [A.getLastLocalChange(second) as Uint8Array])).toBeUndefined();
    const other = edit(first, Y, (d) => {
      d.y = 1;
    });
    const after = A.change(A.merge(A.clone(first, { actor: X }), other), (d) => {
      d.x = 3;
    });
    expect(check(other, A.getChanges(other, after))).toBeUndefined();
    expect(check(first, A.getChanges(first, after))).toBeUndefined();
    expect(check(A.init<Doc>(), A.getAllChanges(after))).toBeUndefined();
  });

  it("refuses a change whose deps leave out its actor's previous change, stored or in the same message", () => {
    const second = edit(first, X, (d) => {
      d.x = 2;
    });
    const detached = forged(A.getLastLocalChange(second) as Uint8Array, { deps: [] });
    expect(check(first, [detached])).toMatch(/seq 2 of actor a{32}\) does not depend on .* 1/);
    expect(check(A.init<Doc>(), [A.getLastLocalChange(first) as Uint8Array, detached])).toMatch(
      /does not depend/,
    );
    // Its deps name another actor's change that does not lead back to the previous one.
    const base = A.change(A.init<Doc>({ actor: Y }), (d) => {
      d.y = 0;
    });
    const one = edit(base, X, (d) => {
      d.x = 1;
    });
    const two = edit(one, X, (d) => {
      d.x = 2;
    });
    const aside = forged(A.getLastLocalChange(two) as Uint8Array, { deps: A.getHeads(base) });
    expect(check(one, [aside])).toMatch(/does not depend/);
  });
});
