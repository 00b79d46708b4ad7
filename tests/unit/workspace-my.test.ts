import * as A from "@automerge/automerge";
import { describe, expect, it } from "vitest";
import {
  addToMy,
  asDocId,
  asOrganizationId,
  asUserId,
  checkDocument,
  createWorkspace,
  type MessageId,
  myChanges,
  myEntries,
  myEntry,
  myIds,
  myPartOf,
  removeFromMy,
  type Workspace,
} from "../../src/docs/index.js";

const owner = asUserId("alice");
const organization = asOrganizationId("acme");
const fresh = () => A.from(createWorkspace({ owner, organization }) as never) as A.Doc<Workspace>;
/** A workspace as created before "My" had parts: only the flat map. */
const legacy = () => {
  const { myParts: _, ...old } = createWorkspace({ owner, organization });
  return A.from(old as never) as A.Doc<Workspace>;
};
const ID_A = asDocId("4NMNnkwqyqPr9aNnGsanK2zoB1Pq");
const ID_B = asDocId("2j8rjGVxAmAX9RW6Qm4kXKZoyCTb");

describe("the My index in parts", () => {
  it("writes new entries into the id's part and reads them back, surviving save and load", () => {
    let w = fresh();
    w = A.change(w, (d) => {
      addToMy(d, ID_A, "order", 5);
      addToMy(d, ID_B, "quote", 6);
    });
    w = A.load<Workspace>(A.save(w));
    expect(w.myParts?.[myPartOf(ID_A)]?.[ID_A]).toEqual({ kind: "order", addedAt: 5 });
    expect(Object.keys(w.my)).toEqual([]);
    expect(myEntry(w, ID_B)).toEqual({ kind: "quote", addedAt: 6 });
    expect(myEntries(w)).toEqual({
      [ID_A]: { kind: "order", addedAt: 5 },
      [ID_B]: { kind: "quote", addedAt: 6 },
    });
    expect(myIds(w).sort()).toEqual([ID_A, ID_B].sort());
    expect(checkDocument(w)).toEqual([]);
  });

  it("still reads and writes a workspace created before the parts existed", () => {
    let w = legacy();
    w = A.change(w, (d) => addToMy(d, ID_A, "order", 5));
    expect(w.myParts).toBeUndefined();
    expect(w.my[ID_A]).toEqual({ kind: "order", addedAt: 5 });
    expect(myEntry(w, ID_A)?.kind).toBe("order");
    w = A.change(w, (d) => removeFromMy(d, ID_A));
    expect(myIds(w)).toEqual([]);
    expect(checkDocument(w)).toEqual([]);
  });

  it("reads entries an older client wrote to the flat map of a new workspace, and removes them", () => {
    let w = A.change(fresh(), (d) => {
      d.my[ID_A] = { kind: "order", addedAt: 1 };
    });
    expect(myEntry(w, ID_A)?.kind).toBe("order");
    expect(myIds(w)).toEqual([ID_A]);
    // Changing its kind moves it to its part: one id, one entry.
    w = A.change(w, (d) => addToMy(d, ID_A, "quote", 2));
    expect(Object.keys(w.my)).toEqual([]);
    expect(myEntries(w)).toEqual({ [ID_A]: { kind: "quote", addedAt: 2 } });
    w = A.change(w, (d) => removeFromMy(d, ID_A));
    expect(myIds(w)).toEqual([]);
  });

  it("keeps both devices' entries when two add to the same part concurrently", () => {
    const base = fresh();
    const id2 = asDocId(`${ID_B.slice(0, -1)}${ID_A.slice(-1)}`);
    expect(myPartOf(id2)).toBe(myPartOf(ID_A));
    const one = A.change(A.clone(base), (d) => addToMy(d, ID_A, "order", 1));
    const two = A.change(A.clone(base), (d) => addToMy(d, id2, "quote", 2));
    expect(myIds(A.merge(one, two)).sort()).toEqual([ID_A, id2].sort());
  });

  it("refuses a part that is not a map of entries", () => {
    const bad = { ...createWorkspace({ owner, organization }), myParts: { x: { [ID_A]: 3 } } };
    expect(checkDocument(bad).map((v) => v.path.slice(0, 2))).toEqual([["myParts", "x"]]);
  });
});

describe("myChanges: what a workspace change did to My, from its patches", () => {
  const patchesOf = (w: A.Doc<Workspace>, fn: (d: Workspace) => void) => {
    const before = A.getHeads(w);
    const after = A.change(A.clone(w), fn);
    return { doc: after, patches: A.diff(after, before, A.getHeads(after)) };
  };

  it("names ids added and removed in parts and in the flat map", () => {
    const { doc, patches } = patchesOf(fresh(), (d) => addToMy(d, ID_A, "order", 1));
    expect(myChanges(patches)).toEqual({ added: [ID_A], removed: [] });
    expect(myChanges(patchesOf(doc, (d) => removeFromMy(d, ID_A)).patches)).toEqual({
      added: [],
      removed: [ID_A],
    });
    const old = A.change(legacy(), (d) => addToMy(d, ID_B, "quote", 1));
    expect(myChanges(patchesOf(old, (d) => removeFromMy(d, ID_B)).patches)).toEqual({
      added: [],
      removed: [ID_B],
    });
  });

  it("does not count an entry moved from the flat map to its part as removed", () => {
    const w = A.change(fresh(), (d) => {
      d.my[ID_A] = { kind: "order", addedAt: 1 };
    });
    expect(myChanges(patchesOf(w, (d) => addToMy(d, ID_A, "quote", 2)).patches)).toEqual({
      added: [ID_A],
      removed: [],
    });
  });

  it("gives up (a full comparison is needed) when a part is replaced or deleted whole", () => {
    const w = A.change(fresh(), (d) => addToMy(d, ID_A, "order", 1));
    const part = myPartOf(ID_A);
    const dropped = patchesOf(w, (d) => {
      delete (d.myParts as Record<string, unknown>)[part];
    });
    expect(myChanges(dropped.patches)).toBeUndefined();
    const readOnly = patchesOf(w, (d) => {
      d.read["m1" as MessageId] = 3;
    });
    expect(myChanges(readOnly.patches)).toEqual({ added: [], removed: [] });
  });
});
