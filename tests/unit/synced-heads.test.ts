import type { StorageKey } from "@automerge/automerge-repo/slim";
import { describe, expect, it } from "vitest";
import { MemoryStorageAdapter } from "../../src/adapters/storage-memory.js";
import { DeviceStore } from "../../src/client/device-store.js";
import { SyncedHeads } from "../../src/client/synced-heads.js";

class CountingStorage extends MemoryStorageAdapter {
  saves = 0;
  override async save(key: StorageKey, data: Uint8Array) {
    this.saves++;
    return super.save(key, data);
  }
}

describe("SyncedHeads dirty marks", () => {
  it("writes a burst of marks as one list, and every mark is kept", async () => {
    const storage = new CountingStorage();
    const synced = new SyncedHeads(new DeviceStore(storage));
    await synced.load();
    for (let i = 0; i < 200; i++) synced.markDirty(`d${i}`);
    await synced.flush();
    expect(storage.saves).toBe(1);
    synced.markDirty("late");
    synced.markDirty("d3");
    await synced.flush();
    expect(storage.saves).toBe(2);

    const again = new SyncedHeads(new DeviceStore(storage));
    await again.load();
    expect(again.dirtyIds().sort()).toEqual([...synced.dirtyIds()].sort());
    expect(again.dirtyIds()).toHaveLength(201);
  });
});
