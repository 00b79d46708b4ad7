import * as A from "@automerge/automerge";
import { describe, expect, it } from "vitest";

// Inputs on which automerge 3.5.0 panics, found by the wire fuzzer against the relay. The write
// gate refuses each before the Repo sees it (docs/security.md, "Gate"). When one of these stops
// panicking after an upgrade, the gate's rehearsal still holds; update docs/security.md.

const sync = (changes: Uint8Array[], have: { lastSync: string[]; bloom: Uint8Array }[] = []) =>
  A.encodeSyncMessage({ heads: [], need: [], have, changes });

describe("automerge 3.5 panics", () => {
  it("saving and loading a document with a change whose op ids overlap its actor's previous change", () => {
    const actor = "aa".repeat(16);
    const first = A.change(A.init<{ x?: number; y?: number }>({ actor }), (d) => {
      d.x = 1;
    });
    const second = A.change(A.clone(first, { actor }), (d) => {
      d.y = 2;
    });
    // The second change claims the first one's op id: startOp 1 instead of 2.
    const overlapping = A.encodeChange({
      ...A.decodeChange(A.getLastLocalChange(second) as Uint8Array),
      startOp: 1,
      hash: undefined,
    } as unknown as A.DecodedChange);
    const [doc] = A.receiveSyncMessage(A.clone(first), A.initSyncState(), sync([overlapping]));
    expect(A.toJS(doc)).toBeDefined();
    expect(() => A.saveSince(doc, A.getHeads(first))).toThrow(
      "assertion failed: self.data[index].is_none()",
    );
    expect(() => A.load(A.save(doc))).toThrow("assertion failed: self.data[index].is_none()");
  });

  it("loading the whole save of a document with a change whose deps leave out its actor's previous change", () => {
    const actor = "aa".repeat(16);
    const first = A.change(A.init<{ x?: number }>({ actor }), (d) => {
      d.x = 1;
    });
    const second = A.change(A.clone(first, { actor }), (d) => {
      d.x = 2;
    });
    const detached = A.encodeChange({
      ...A.decodeChange(A.getLastLocalChange(second) as Uint8Array),
      deps: [],
      hash: undefined,
    } as unknown as A.DecodedChange);
    const [doc] = A.receiveSyncMessage(A.clone(first), A.initSyncState(), sync([detached]));
    // Applied, saved incrementally and synced to peers that have the rest: nothing complains...
    expect(A.getHeads(doc)).toHaveLength(2);
    expect(() => A.saveSince(doc, A.getHeads(first))).not.toThrow();
    // ...until a new device gets the whole document, or the relay reads its compacted copy.
    expect(() => A.load(A.save(doc))).toThrow("invalid changes: missing ops");
  });

  it.each([
    ["0 bits per entry", Uint8Array.of(1, 0, 7), "divisor of zero"],
    ["2^31 probes", Uint8Array.of(1, 10, 0x80, 0x80, 0x80, 0x80, 0x08, 0, 0), "capacity overflow"],
  ])("generating a sync message after receiving a bloom filter of %s", (_name, bloom, panic) => {
    const doc = A.from({ a: 1 });
    const [, state] = A.receiveSyncMessage(
      doc,
      A.initSyncState(),
      sync([], [{ lastSync: [], bloom }]),
    );
    expect(() => A.generateSyncMessage(doc, state)).toThrow(panic);
  });
});
