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
 * Temporary files live here, one subfolder per adapter instance (`<pid>.<random>`). No key can
 * name it: key segments escape ".".
 */
const TEMP_FOLDER = ".tmp";

/** Options of {@link FileStorageAdapter}. */
export interface FileStorageOptions {
  /**
   * Chunks written and synced to disk together at most (a group commit). Saves that arrive while
   * a group is being written form the next one. Default 1,024.
   */
  maxGroupChunks?: number;
  /** Files open at once while a group is written. Default 64. */
  maxOpenFiles?: number;
}

interface PendingSave {
  file: string;
  data: Uint8Array;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Stores chunks as files under a folder, one file per key (`a/b/c.chunk`). A save is written to a
 * temporary file, flushed to disk, renamed over the target and its folder flushed too, so a crash
 * (a kill, a power cut) leaves either the old chunk or the new one, never a torn one, and a save
 * that resolved survives. Saves issued together are committed together: their files are written,
 * flushed to disk in parallel, renamed, and each folder touched is flushed once, before every one
 * of them resolves. Temporary files a killed process left behind are removed when the folder is
 * next opened. For Node clients.
 */
export class FileStorageAdapter implements StorageAdapterInterface {
  readonly #folder: string;
  readonly #maxGroup: number;
  readonly #maxOpen: number;
  // Operations on one key run in order; a removal of a range waits for every operation under it
  // and holds back later ones (a removal racing a debounced save would otherwise fail, or be
  // undone by the save).
  readonly #tails = new Map<string, Promise<void>>();
  readonly #ranges = new Set<{ path: string; done: Promise<void> }>();
  /** Folders known to exist: created once, not on every save. */
  readonly #known = new Set<string>();
  #pending: PendingSave[] = [];
  #committing = false;
  #scheduled = false;
  #temp: Promise<string> | undefined;
  #counter = 0;

  constructor(folder: string, options: FileStorageOptions = {}) {
    this.#folder = folder;
    this.#maxGroup = options.maxGroupChunks ?? 1024;
    this.#maxOpen = options.maxOpenFiles ?? 64;
  }

  /**
   * The temporary folder of this instance, created on first use after removing those of
   * processes that no longer run (a kill mid-write leaves its temporary files there).
   */
  #tempFolder(): Promise<string> {
    this.#temp ??= (async () => {
      const { fs, path } = await node();
      const root = path.join(this.#folder, TEMP_FOLDER);
      let entries: string[] = [];
      try {
        entries = await fs.readdir(root);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
      for (const entry of entries)
        if (!liveTempFolders.has(entry) && !processAlive(Number(entry.split(".")[0])))
          await fs.rm(path.join(root, entry), { recursive: true, force: true });
      const name = `${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
      liveTempFolders.add(name);
      const own = path.join(root, name);
      await fs.mkdir(own, { recursive: true });
      return own;
    })();
    this.#temp.catch(() => {
      this.#temp = undefined;
    });
    return this.#temp;
  }

  /**
   * Removes temporary files left by killed processes (done anyway before the first write). A
   * client calls it when it opens the folder, so leftovers go even when nothing is written.
   */
  async open(): Promise<void> {
    await this.#tempFolder();
  }

  #pathOf(key: StorageKey): string {
    return key.map(segment).join("/");
  }

  #after(path: string, exact: boolean, fn: () => Promise<void>): Promise<void> {
    const waits: Promise<void>[] = [];
    const under = (p: string, prefix: string) =>
      prefix === "" || p === prefix || p.startsWith(`${prefix}/`);
    for (const range of this.#ranges)
      if (under(path, range.path) || under(range.path, path)) waits.push(range.done);
    if (exact) {
      const tail = this.#tails.get(path);
      if (tail) waits.push(tail);
    } else {
      for (const [p, tail] of this.#tails) if (under(p, path)) waits.push(tail);
    }
    const run = Promise.all(waits).then(fn);
    const done = run.then(
      () => undefined,
      () => undefined,
    );
    if (exact) {
      this.#tails.set(path, done);
      void done.then(() => {
        if (this.#tails.get(path) === done) this.#tails.delete(path);
      });
    } else {
      const range = { path, done };
      this.#ranges.add(range);
      void done.then(() => this.#ranges.delete(range));
    }
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
    return this.#after(this.#pathOf(key), true, async () => {
      const file = await this.#file(key);
      await new Promise<void>((resolve, reject) => {
        this.#pending.push({ file, data, resolve, reject });
        this.#schedule();
      });
    });
  }

  /** Starts a group commit once the saves issued in this turn have arrived. */
  #schedule(): void {
    if (this.#scheduled || this.#committing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#committing = true;
    try {
      while (this.#pending.length > 0) {
        const group = this.#pending.splice(0, this.#maxGroup);
        await this.#commit(group).catch((err) => {
          for (const save of group) save.reject(err);
        });
      }
    } finally {
      this.#committing = false;
    }
  }

  /**
   * Writes a group durably: folders created (and their parents flushed), every file written to a
   * temporary name and flushed, renamed into place, each folder flushed; then every save resolves.
   * A save whose own write failed is rejected alone.
   */
  async #commit(group: PendingSave[]): Promise<void> {
    const { fs, path } = await node();
    const temp = await this.#tempFolder();
    const toSync = new Set<string>();
    const creating = new Map<string, Promise<void>>();
    const folder = (dir: string) => {
      let made = creating.get(dir);
      if (!made) {
        made = this.#ensureFolder(dir, toSync);
        creating.set(dir, made);
      }
      return made;
    };
    const failed = new Map<PendingSave, unknown>();
    // Each chunk on its own way (folder, write, flush, rename), many at once; the folders last.
    await this.#limited(group, async (save) => {
      const name = path.join(temp, (this.#counter++).toString(36));
      const dir = path.dirname(save.file);
      try {
        await folder(dir);
        const handle = await fs.open(name, "w");
        try {
          await handle.writeFile(save.data);
          await handle.datasync();
        } finally {
          await handle.close();
        }
        await fs.rename(name, save.file).catch(async (err) => {
          // The folder went meanwhile (removed by hand): made again once.
          if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
          this.#known.delete(dir);
          await this.#ensureFolder(dir, toSync);
          await fs.rename(name, save.file);
        });
      } catch (err) {
        failed.set(save, err);
        await fs.rm(name, { force: true }).catch(() => undefined);
      }
    });
    await this.#limited([...toSync], async (dir) => {
      const handle = await fs.open(dir, "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
    for (const save of group) {
      const err = failed.get(save);
      if (err === undefined) save.resolve();
      else save.reject(err);
    }
  }

  /** Creates a folder unless known; it and the parents of every folder created are to be synced. */
  async #ensureFolder(dir: string, toSync: Set<string>): Promise<void> {
    toSync.add(dir);
    if (this.#known.has(dir)) return;
    const { fs, path } = await node();
    const parent = path.dirname(dir);
    // A new document's folder under a known one: one call, not the three of a recursive create.
    if (this.#known.has(parent)) {
      const made = await fs.mkdir(dir).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code === "EEXIST") return false;
          if (err.code === "ENOENT") return undefined;
          throw err;
        },
      );
      if (made !== undefined) {
        if (made) toSync.add(parent);
        this.#known.add(dir);
        return;
      }
      this.#known.delete(parent);
    }
    const first = await fs.mkdir(dir, { recursive: true });
    // Every folder created must be named durably in its parent.
    if (first !== undefined)
      for (let d = dir; d.length >= first.length; d = path.dirname(d)) {
        toSync.add(path.dirname(d));
        if (d === first) break;
      }
    for (let d = dir; d.startsWith(this.#folder) && d !== path.dirname(d); d = path.dirname(d))
      this.#known.add(d);
  }

  /** Runs `fn` over the items with at most `maxOpenFiles` at once. */
  async #limited<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < items.length) await fn(items[next++] as T);
    };
    await Promise.all(Array.from({ length: Math.min(this.#maxOpen, items.length) }, worker));
  }

  remove(key: StorageKey): Promise<void> {
    return this.#after(this.#pathOf(key), true, async () => {
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
        if (entry.name === TEMP_FOLDER) continue;
        if (entry.isDirectory())
          await walk(path.join(dir, entry.name), [...key, decodeURIComponent(entry.name)]);
        else if (entry.name.endsWith(".chunk")) {
          const part = decodeURIComponent(entry.name.slice(0, -".chunk".length));
          let data: Buffer;
          try {
            data = await fs.readFile(path.join(dir, entry.name));
          } catch (err) {
            // Removed since the folder was listed: no longer in the range.
            if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
            throw err;
          }
          chunks.push({ key: [...key, part], data: new Uint8Array(data) });
        }
      }
    };
    await walk(await this.#dir(keyPrefix), [...keyPrefix]);
    return chunks;
  }

  removeRange(keyPrefix: StorageKey): Promise<void> {
    return this.#after(this.#pathOf(keyPrefix), false, async () => {
      const { fs } = await node();
      const dir = await this.#dir(keyPrefix);
      for (const known of this.#known)
        if (keyPrefix.length === 0 || known === dir || known.startsWith(`${dir}/`))
          this.#known.delete(known);
      if (keyPrefix.length === 0) {
        // Everything but the temporary folder, which a write in progress elsewhere may use.
        const entries = await fs.readdir(this.#folder).catch(() => [] as string[]);
        const { path } = await node();
        for (const entry of entries)
          if (entry !== TEMP_FOLDER)
            await fs.rm(path.join(this.#folder, entry), { recursive: true, force: true });
        return;
      }
      await fs.rm(await this.#file(keyPrefix), { force: true });
      await fs.rm(dir, { recursive: true, force: true });
    });
  }
}

/** Temporary folders of the adapters of this process. */
const liveTempFolders = new Set<string>();

/** False only when no process has this id (a pid of another user's process counts as alive). */
function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
