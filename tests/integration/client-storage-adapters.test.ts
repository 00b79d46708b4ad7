import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { DeviceIndexedDbStorageAdapter } from "../../src/adapters/storage-indexeddb.js";
import { MemoryStorageAdapter } from "../../src/adapters/storage-memory.js";
import { PrefixedStorageAdapter } from "../../src/adapters/storage-prefixed.js";
import { describeAdapter } from "./adapter-suite.js";

// The adapters that hold a user's device partition pass automerge-repo's storage suite.

let n = 0;
describeAdapter(
  async () => {
    const adapter = new DeviceIndexedDbStorageAdapter(`conformance-${n++}`);
    return { adapter, teardown: () => adapter.close() };
  },
  "DeviceIndexedDbStorageAdapter",
  { keyOrder: true },
);

describeAdapter(
  async () => ({ adapter: new PrefixedStorageAdapter(new MemoryStorageAdapter(), ["p", "q"]) }),
  "PrefixedStorageAdapter",
);

describe("PrefixedStorageAdapter", () => {
  it("never reads, lists or removes a key outside its prefix", async () => {
    const shared = new MemoryStorageAdapter();
    const alice = new PrefixedStorageAdapter(shared, ["oms-partition", "acme", "alice"]);
    const bob = new PrefixedStorageAdapter(shared, ["oms-partition", "acme", "bob"]);
    await alice.save(["doc", "snapshot", "h"], new Uint8Array([1]));
    await bob.save(["doc", "snapshot", "h"], new Uint8Array([2]));
    expect(await bob.load(["doc", "snapshot", "h"])).toEqual(new Uint8Array([2]));
    expect((await bob.loadRange([])).map((c) => c.data)).toEqual([new Uint8Array([2])]);
    await bob.removeRange([]);
    expect(await alice.load(["doc", "snapshot", "h"])).toEqual(new Uint8Array([1]));
  });
});
