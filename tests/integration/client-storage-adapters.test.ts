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

describe("DeviceIndexedDbStorageAdapter", () => {
  it("stores a chunk cut from a larger buffer as its own bytes, not the whole buffer", async () => {
    const adapter = new DeviceIndexedDbStorageAdapter(`views-${n++}`);
    const page = new Uint8Array(100_000).fill(7);
    await adapter.save(["doc", "snapshot", "bulk"], page.subarray(500, 510));
    const stored = await adapter.load(["doc", "snapshot", "bulk"]);
    expect(stored).toEqual(new Uint8Array(10).fill(7));
    expect(stored?.buffer.byteLength).toBe(10);
    await adapter.close();
  });

  it("commits saves issued together in one transaction, each resolved once committed", async () => {
    const adapter = new DeviceIndexedDbStorageAdapter(`batch-${n++}`);
    await adapter.load(["warm"]);
    const modes: string[] = [];
    const transaction = IDBDatabase.prototype.transaction;
    IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: unknown[]) {
      modes.push((args[1] as string | undefined) ?? "readonly");
      return (transaction as (...a: unknown[]) => IDBTransaction).apply(this, args);
    } as typeof transaction;
    try {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          adapter.save([`doc${i}`, "snapshot", "h"], new Uint8Array([i])),
        ),
      );
      // A read issued after a save in the same turn sees it.
      const [, seen] = await Promise.all([
        adapter.save(["late", "snapshot", "h"], new Uint8Array([9])),
        adapter.load(["late", "snapshot", "h"]),
      ]);
      expect(seen).toEqual(new Uint8Array([9]));
    } finally {
      IDBDatabase.prototype.transaction = transaction;
    }
    expect(modes).toEqual(["readwrite", "readwrite"]);
    // Committed: a new connection reads every one of them.
    await adapter.close();
    const again = new DeviceIndexedDbStorageAdapter(adapter.database);
    expect((await again.loadRange([])).length).toBe(51);
    await again.close();
  });

  it("fails only the save whose key IndexedDB cannot hold; the others of its turn commit", async () => {
    const adapter = new DeviceIndexedDbStorageAdapter(`bad-key-${n++}`);
    const bad = [{}] as unknown as string[];
    const results = await Promise.allSettled([
      adapter.save(["a", "snapshot", "h"], new Uint8Array([1])),
      adapter.save(bad, new Uint8Array([2])),
      adapter.save(["b", "snapshot", "h"], new Uint8Array([3])),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(await adapter.load(["b", "snapshot", "h"])).toEqual(new Uint8Array([3]));
    await adapter.close();
  });
});
