import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FileStorageAdapter } from "../../src/adapters/storage-file.js";
import { MemoryStorageAdapter } from "../../src/adapters/storage-memory.js";
import { ScopedStorageAdapter } from "../../src/adapters/storage-scoped.js";
import { describeAdapter } from "./adapter-suite.js";
import { tempDir } from "./helpers.js";

describeAdapter(async () => ({ adapter: new MemoryStorageAdapter() }), "MemoryStorageAdapter");

describeAdapter(
  async () => {
    const dir = tempDir("oms-file-");
    return { adapter: new FileStorageAdapter(dir.dir), teardown: dir.remove };
  },
  "FileStorageAdapter",
  { keyOrder: true },
);

describeAdapter(
  async () => ({ adapter: new ScopedStorageAdapter(new MemoryStorageAdapter(), () => true) }),
  "ScopedStorageAdapter, all in scope",
);
describeAdapter(
  async () => ({ adapter: new ScopedStorageAdapter(new MemoryStorageAdapter(), () => false) }),
  "ScopedStorageAdapter, nothing in scope",
);

describe("FileStorageAdapter", () => {
  it("keeps key parts inside its folder", async () => {
    const dir = tempDir("oms-file-");
    const adapter = new FileStorageAdapter(`${dir.dir}/store`);
    await adapter.save(["..", "..", "x"], new Uint8Array([1]));
    expect(readdirSync(dir.dir)).toEqual(["store"]);
    expect(await adapter.load(["..", "..", "x"])).toEqual(new Uint8Array([1]));
    dir.remove();
  });
});

describe("ScopedStorageAdapter", () => {
  it("writes only documents in scope to the device, and admits one later", async () => {
    const device = new MemoryStorageAdapter();
    const scope = new Set(["mine"]);
    const adapter = new ScopedStorageAdapter(device, (id) => scope.has(id));
    await adapter.save(["mine", "snapshot", "h"], new Uint8Array([1]));
    await adapter.save(["theirs", "snapshot", "h"], new Uint8Array([2]));
    await adapter.save(["storage-adapter-id"], new Uint8Array([3]));
    expect(
      device
        .keys()
        .map((k) => k[0])
        .sort(),
    ).toEqual(["mine", "storage-adapter-id"]);
    expect(await adapter.load(["theirs", "snapshot", "h"])).toEqual(new Uint8Array([2]));
    scope.add("theirs");
    await adapter.admit("theirs");
    expect(await device.load(["theirs", "snapshot", "h"])).toEqual(new Uint8Array([2]));
  });
});
