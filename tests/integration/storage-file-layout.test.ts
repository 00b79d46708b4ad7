import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StorageKey } from "@automerge/automerge-repo/slim";
import { describe, expect, it } from "vitest";
import { FileStorageAdapter } from "../../src/adapters/storage-file.js";
import { tempDir } from "./helpers.js";

// The first layout's rules, kept here to build the folders a device wrote before the flat one:
// a folder per key part but the last, the last part's file `<part>.chunk`.
const oldSegment = (part: string) => encodeURIComponent(part).replace(/\./g, "%2E") || "%00";
function writeOld(root: string, key: StorageKey, data: Uint8Array): void {
  const parts = key.map(oldSegment);
  const dir = join(root, ...parts.slice(0, -1));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${parts.at(-1)}.chunk`), data);
}

/** Every file under a folder, relative, but for the temporary folder. */
function files(root: string, dir = ""): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    if (name === ".tmp") return [];
    const at = join(dir, name);
    return statSync(join(root, at)).isDirectory() ? files(root, at) : [at];
  });
}

const PARTITION = ["oms-partition", "acme", "alice"];
const doc = (i: number) => `${i.toString(36).padStart(4, "0")}Xq3Lk8rTz2ECyP5vZ`;
const bytes = (i: number) => new Uint8Array([i & 255, (i >> 8) & 255, 7]);

/** The keys a device of the first layout held: documents in a partition, records, odd parts. */
function deviceKeys(documents: number): StorageKey[] {
  const keys: StorageKey[] = [["storage-adapter-id"], [...PARTITION, "oms-sync", "session"]];
  for (let i = 0; i < documents; i++)
    keys.push(
      [...PARTITION, doc(i), "snapshot", `h${i}`],
      [...PARTITION, doc(i), "sync-state", "peer.1"],
    );
  keys.push(["a.b", "c/d", "", "#x", "..", "e"], ["short", "key"]);
  return keys;
}

const byKey = (a: { key: StorageKey }, b: { key: StorageKey }) =>
  JSON.stringify(a.key) < JSON.stringify(b.key) ? -1 : 1;

describe("FileStorageAdapter's flat layout", () => {
  it("makes no folder per document: a document's chunks share a bucket", async () => {
    const dir = tempDir();
    try {
      const storage = new FileStorageAdapter(dir.dir);
      for (let i = 0; i < 20; i++) {
        await storage.save([...PARTITION, doc(i), "snapshot", "h"], bytes(i));
        await storage.save([...PARTITION, doc(i), "incremental", "h2"], bytes(i));
      }
      const folders = readdirSync(join(dir.dir, ...PARTITION));
      expect(folders.every((name) => name.startsWith("#"))).toBe(true);
      expect(folders.length).toBeLessThanOrEqual(20);
      const chunks = await storage.loadRange([...PARTITION, doc(3)]);
      expect(chunks.map((c) => c.key.slice(3))).toEqual([
        [doc(3), "incremental", "h2"],
        [doc(3), "snapshot", "h"],
      ]);
    } finally {
      dir.remove();
    }
  });

  it("reads a folder written in the first layout, moved into the flat one on open", async () => {
    const dir = tempDir();
    try {
      const keys = deviceKeys(30);
      for (const [i, key] of keys.entries()) writeOld(dir.dir, key, bytes(i));
      const storage = new FileStorageAdapter(dir.dir);
      await storage.open();
      for (const [i, key] of keys.entries()) expect(await storage.load(key)).toEqual(bytes(i));
      const all = (await storage.loadRange([])).sort(byKey);
      expect(all).toEqual(keys.map((key, i) => ({ key, data: bytes(i) })).sort(byKey));
      expect((await storage.loadRange([...PARTITION, doc(4)])).map((c) => c.key)).toEqual([
        [...PARTITION, doc(4), "snapshot", "h4"],
        [...PARTITION, doc(4), "sync-state", "peer.1"],
      ]);
      // Nothing of the first layout is left: no chunk file, no folder per document.
      expect(files(dir.dir).filter((f) => f.endsWith(".chunk"))).toEqual([]);
      expect(existsSync(join(dir.dir, ...PARTITION, doc(4)))).toBe(false);
      // A second adapter on the migrated folder reads the same.
      expect((await new FileStorageAdapter(dir.dir).loadRange([])).sort(byKey)).toEqual(all);
    } finally {
      dir.remove();
    }
  });

  it("finishes a migration that a kill stopped half way, and loses nothing", async () => {
    const dir = tempDir();
    try {
      const keys = deviceKeys(500);
      for (const [i, key] of keys.entries()) writeOld(dir.dir, key, bytes(i));
      const child = spawn(
        process.execPath,
        ["--import", "tsx", "tests/integration/storage-file-open.ts", dir.dir],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      const exited = new Promise<NodeJS.Signals | null>((r) => child.on("exit", (_c, s) => r(s)));
      // Killed once the first chunks of the partition have moved into its buckets.
      const partition = join(dir.dir, ...PARTITION);
      const moved = () =>
        readdirSync(partition).some(
          (name) => name.startsWith("#") && readdirSync(join(partition, name)).length > 0,
        );
      while (!moved()) await new Promise((r) => setTimeout(r, 2));
      child.kill("SIGKILL");
      expect(await exited).toBe("SIGKILL");
      const left = files(dir.dir).filter((f) => f.endsWith(".chunk")).length;
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThan(keys.length);

      const storage = new FileStorageAdapter(dir.dir);
      await storage.open();
      const all = await storage.loadRange([]);
      expect(all.length).toBe(keys.length);
      for (const [i, key] of keys.entries()) expect(await storage.load(key)).toEqual(bytes(i));
      expect(files(dir.dir).filter((f) => f.endsWith(".chunk"))).toEqual([]);
    } finally {
      dir.remove();
    }
  }, 180_000);
});
