import type { Chunk, StorageAdapterInterface, StorageKey } from "@automerge/automerge-repo/slim";

// Node's fs is loaded when first used, through a specifier bundlers leave alone, so this file can
// sit in the browser-safe client bundle; browsers never construct it.
type Fs = typeof import("node:fs/promises");
type Path = typeof import("node:path");
let modules: Promise<{ fs: Fs; path: Path }> | undefined;
function node(): Promise<{ fs: Fs; path: Path }> {
  const fsName = "node:fs/promises";
  const pathName = "node:path";
  modules ??= Promise.all([
    import(/* @vite-ignore */ fsName),
    import(/* @vite-ignore */ pathName),
  ]).then(([fs, path]) => ({ fs: fs as Fs, path: path as Path }));
  return modules;
}

// A key part becomes one path segment; anything that could leave the folder is escaped.
function segment(part: string): string {
  const encoded = encodeURIComponent(part).replace(/\./g, "%2E");
  return encoded === "" ? "%00" : encoded;
}

/**
 * Stores chunks as files under a folder, one file per key (`a/b/c.chunk`). Each write goes to a
 * temporary file that is flushed to disk and then renamed over the target, so a crash leaves
 * either the old chunk or the new one, never a torn one. For Node clients.
 */
export class FileStorageAdapter implements StorageAdapterInterface {
  readonly #folder: string;
  // Writes and removals of one document run one after the other: a removal racing a debounced
  // save would otherwise fail (a temp file appears in a folder being removed) or be undone.
  readonly #queues = new Map<string, Promise<void>>();

  constructor(folder: string) {
    this.#folder = folder;
  }

  #serial(key: StorageKey, fn: () => Promise<void>): Promise<void> {
    const id = key[0] ?? "";
    const run = (this.#queues.get(id) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#queues.set(id, tail);
    void tail.then(() => {
      if (this.#queues.get(id) === tail) this.#queues.delete(id);
    });
    return run;
  }

  async #file(key: StorageKey): Promise<string> {
    const { path } = await node();
    const parts = key.map(segment);
    return `${path.join(this.#folder, ...parts)}.chunk`;
  }

  async #dir(prefix: StorageKey): Promise<string> {
    const { path } = await node();
    return path.join(this.#folder, ...prefix.map(segment));
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    const { fs } = await node();
    try {
      return new Uint8Array(await fs.readFile(await this.#file(key)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  save(key: StorageKey, data: Uint8Array): Promise<void> {
    return this.#serial(key, () => this.#save(key, data));
  }

  async #save(key: StorageKey, data: Uint8Array): Promise<void> {
    const { fs, path } = await node();
    const file = await this.#file(key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const temp = `${file}.${Date.now().toString(36)}${Math.random().toString(36).slice(2)}.tmp`;
    const handle = await fs.open(temp, "w");
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  }

  remove(key: StorageKey): Promise<void> {
    return this.#serial(key, async () => {
      const { fs } = await node();
      await fs.rm(await this.#file(key), { force: true });
    });
  }

  async loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    const { fs, path } = await node();
    const chunks: Chunk[] = [];
    if (keyPrefix.length > 0) {
      const own = await this.load(keyPrefix);
      if (own) chunks.push({ key: [...keyPrefix], data: own });
    }
    const walk = async (dir: string, key: string[]): Promise<void> => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
        throw err;
      }
      for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        if (entry.isDirectory())
          await walk(path.join(dir, entry.name), [...key, decodeURIComponent(entry.name)]);
        else if (entry.name.endsWith(".chunk")) {
          const part = decodeURIComponent(entry.name.slice(0, -".chunk".length));
          chunks.push({
            key: [...key, part],
            data: new Uint8Array(await fs.readFile(path.join(dir, entry.name))),
          });
        }
      }
    };
    await walk(await this.#dir(keyPrefix), [...keyPrefix]);
    return chunks;
  }

  async removeRange(keyPrefix: StorageKey): Promise<void> {
    const { fs } = await node();
    if (keyPrefix.length === 0) {
      await Promise.all(this.#queues.values());
      await fs.rm(this.#folder, { recursive: true, force: true });
      return;
    }
    await this.#serial(keyPrefix, async () => {
      await fs.rm(await this.#file(keyPrefix), { force: true });
      await fs.rm(await this.#dir(keyPrefix), { recursive: true, force: true });
    });
  }
}
