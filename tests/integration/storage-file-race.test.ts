import { describe, expect, it } from "vitest";
import { FileStorageAdapter } from "../../src/adapters/storage-file.js";
import { tempDir } from "./helpers.js";

describe("FileStorageAdapter under a removal racing a save", () => {
  it("never rejects a save whose document folder was removed meanwhile, and later saves land", async () => {
    const dir = tempDir();
    try {
      const storage = new FileStorageAdapter(dir.dir);
      const data = new Uint8Array(64 * 1024).fill(7);
      const failures: unknown[] = [];
      for (let i = 0; i < 40; i++) {
        const doc = `doc${i}`;
        // A debounced save still running when the document leaves the device.
        const save = storage.save([doc, "incremental", "h"], data).catch((e) => failures.push(e));
        await new Promise((r) => setImmediate(r));
        await storage.removeRange([doc]);
        await save;
        // The removal came last, so nothing of the document is left behind.
        expect(await storage.loadRange([doc])).toEqual([]);
      }
      expect(failures).toEqual([]);
      // The adapter still works for everything after the races.
      await storage.save(["after", "snapshot", "x"], data);
      expect((await storage.load(["after", "snapshot", "x"]))?.length).toBe(data.length);
    } finally {
      dir.remove();
    }
  });

  it("lists a range while its chunks are removed: never rejects, and answers only saved chunks", async () => {
    const dir = tempDir();
    try {
      const storage = new FileStorageAdapter(dir.dir);
      const failures: unknown[] = [];
      for (let round = 0; round < 10; round++) {
        const doc = `listed${round}`;
        const names = Array.from({ length: 60 }, (_, i) => `h${i}`);
        for (const name of names)
          await storage.save([doc, "incremental", name], new Uint8Array([round]));
        // The list reads each chunk after listing the folder; removals land in between.
        const listing = storage.loadRange([doc]).catch((e) => {
          failures.push(e);
          return [];
        });
        await Promise.all(names.map((name) => storage.remove([doc, "incremental", name])));
        for (const chunk of await listing) {
          expect(names).toContain(chunk.key[2]);
          expect([...(chunk.data ?? [])]).toEqual([round]);
        }
      }
      expect(failures).toEqual([]);
    } finally {
      dir.remove();
    }
  });
});
