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

/** The key part of a path segment. */
function unsegment(encoded: string): string {
  return encoded === "%00" ? "" : decodeURIComponent(encoded);
}

/**
 * Temporary files live here, one subfolder per adapter instance (`<pid>.<random>`). No key can
 * name it: key segments escape ".".
 */
const TEMP_FOLDER = ".tmp";

/**
 * Names the layout of the folder once it is in place (its content is {@link LAYOUT}). Without it
 * the folder may hold chunks of the first layout, one folder per key part (`a/b/c.chunk`), which
 * are moved into place before anything is read or written.
 */
const LAYOUT_FILE = ".layout";
const LAYOUT = "flat-1";

/**
 * How many of a key's last parts make up its file's name. A document's chunks
 * (`[..., documentId, kind, hash]`) share a bucket and never need a folder of their own: a new
 * document costs no `mkdir` and no folder flush of its own.
 */
const NAMED_PARTS = 3;

/** Buckets a folder spreads its files over, so that a listing reads a few hundred names, not all. */
const BUCKETS = 64;

/** The bucket of a file, from the first part of its name (a document's id): `#00` to `#3f`. */
function bucketOf(part: string): string {
  // FNV-1a: stable across versions and platforms, which is all the layout needs of it.
  let hash = 0x811c9dc5;
  for (let i = 0; i < part.length; i++) hash = Math.imul(hash ^ part.charCodeAt(i), 0x01000193);
  return `#${((hash >>> 0) % BUCKETS).toString(16).padStart(2, "0")}`;
}

/**
 * Where a key (its parts escaped) lives: a folder per leading part, a bucket, then a file named by
 * the last {@link NAMED_PARTS} parts joined with "." (escaped in every part). Buckets start with
 * "#", also escaped in parts, so no key part can name one.
 */
function placeOf(parts: string[]): { folders: string[]; file: string } {
  const depth = Math.max(0, parts.length - NAMED_PARTS);
  const named = parts.slice(depth);
  return {
    folders: [...parts.slice(0, depth), bucketOf(named[0] as string)],
    file: named.join("."),
  };
}

/** The escaped parts of a key named by a file of a bucket under the folders `leading`. */
function partsOf(leading: string[], file: string): string[] {
  return [...leading, ...file.split(".")];
}

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
 * Stores chunks as files under a folder, one file per key. The last three parts of a key name its
 * file, the parts before them are folders, and the files of a folder are spread over 64 buckets by
 * the first part of their name: `[p, documentId, "snapshot", hash]` is
 * `p/#2a/documentId.snapshot.hash`, so a document's chunks share a bucket and a new document makes
 * no folder. Folders of the first layout (`p/documentId/snapshot/hash.chunk`) are moved into this
 * one when first opened (see {@link FileStorageAdapter.open}). A save is written to a
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
  #ready: Promise<void> | undefined;
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
   * Removes temporary files left by killed processes (done anyway before the first write), and
   * moves the chunks of a folder written in the first layout into this one (done anyway before
   * the first read or write). A client calls it when it opens the folder.
   */
  async open(): Promise<void> {
    await this.#prepared();
    await this.#tempFolder();
  }

  /** The folder in this layout: migrated once per adapter, before its first operation. */
  #prepared(): Promise<void> {
    this.#ready ??= this.#migrate();
    this.#ready.catch(() => {
      this.#ready = undefined;
    });
    return this.#ready;
  }

  /**
   * Moves every chunk of the first layout (a folder per key part, `<last part>.chunk`) to its
   * place in this one, then writes the layout marker. Each move is one `rename`, so a chunk is in
   * one place or the other, never lost nor doubled; the moved files' folders are flushed before
   * the marker is written, so a kill or power cut at any point leaves a folder the next open
   * finishes migrating. Several openers at once are safe: a file another one moved is skipped.
   */
  async #migrate(): Promise<void> {
    const { fs, path } = await node();
    const marker = path.join(this.#folder, LAYOUT_FILE);
    const layout = await fs.readFile(marker, "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT" || err.code === "ENOTDIR") return undefined;
      throw err;
    });
    if (layout === LAYOUT) return;
    const old: { from: string; parts: string[] }[] = [];
    const folders: string[] = [];
    const walk = async (dir: string, parts: string[]): Promise<void> => {
      for (const entry of await listing(fs, dir)) {
        // Buckets are this layout's; ".tmp" and the marker are no keys'.
        if (entry.name.startsWith("#") || entry.name.startsWith(".")) continue;
        const at = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          folders.push(at);
          await walk(at, [...parts, entry.name]);
        } else if (entry.name.endsWith(".chunk"))
          old.push({ from: at, parts: [...parts, entry.name.slice(0, -".chunk".length)] });
      }
    };
    await walk(this.#folder, []);
    const toSync = new Set<string>();
    await this.#ensureFolder(this.#folder, toSync);
    await this.#limited(old, async ({ from, parts }) => {
      const to = this.#placePath(parts, path);
      await this.#ensureFolder(path.dirname(to), toSync);
      await fs.rename(from, to).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
      toSync.add(path.dirname(from));
    });
    await this.#syncFolders([...toSync]);
    // The old layout's folders, now empty, deepest first; one still holding something stays.
    for (const dir of folders.reverse()) await fs.rmdir(dir).catch(() => undefined);
    const handle = await fs.open(marker, "w");
    try {
      await handle.writeFile(LAYOUT);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await this.#syncFolders([this.#folder]);
  }

  /** Flushes folders to disk (their entries: files renamed in, folders made), many at once. */
  async #syncFolders(dirs: string[]): Promise<void> {
    const { fs } = await node();
    await this.#limited(dirs, async (dir) => {
      const handle = await fs.open(dir, "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
  }

  #pathOf(key: StorageKey): string {
    return key.map(segment).join("/");
  }

  /** The file of a key given its escaped parts. */
  #placePath(parts: string[], path: Path): string {
    if (parts.length === 0) throw new RangeError("a storage key needs at least one part");
    const { folders, file } = placeOf(parts);
    return path.join(this.#folder, ...folders, file);
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
    return this.#placePath(key.map(segment), path);
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    const { fs } = await node();
    await this.#prepared();
    try {
      return new Uint8Array(await fs.readFile(await this.#file(key)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  save(key: StorageKey, data: Uint8Array): Promise<void> {
    return this.#after(this.#pathOf(key), true, async () => {
      await this.#prepared();
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
    await this.#syncFolders([...toSync]);
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
      await this.#prepared();
      await fs.rm(await this.#file(key), { force: true });
    });
  }

  /**
   * The files whose keys start with `prefix` (escaped parts): those of keys that end at most
   * {@link NAMED_PARTS} parts after one of the prefix's parts, which sit in that part's bucket;
   * then, if `deep`, those under the prefix's folder.
   */
  async #range(prefix: string[], deep: boolean): Promise<{ file: string; parts: string[] }[]> {
    const { fs, path } = await node();
    const found: { file: string; parts: string[] }[] = [];
    const starts = (parts: string[]) =>
      parts.length >= prefix.length && prefix.every((p, i) => parts[i] === p);
    const bucket = async (dir: string, leading: string[], keep: boolean) => {
      for (const entry of await listing(fs, dir)) {
        if (!entry.isFile()) continue;
        const parts = partsOf(leading, entry.name);
        if (keep || starts(parts)) found.push({ file: path.join(dir, entry.name), parts });
      }
    };
    for (let depth = Math.max(0, prefix.length - NAMED_PARTS); depth < prefix.length; depth++) {
      const leading = prefix.slice(0, depth);
      const dir = path.join(this.#folder, ...leading, bucketOf(prefix[depth] as string));
      if (prefix.length - depth === NAMED_PARTS) {
        // Only the prefix itself ends here: its file is looked up, not the bucket listed (which
        // may hold thousands of names, such as every record of a partition).
        const file = path.join(dir, prefix.slice(depth).join("."));
        if (
          await fs.stat(file).then(
            (st) => st.isFile(),
            () => false,
          )
        )
          found.push({ file, parts: prefix });
      } else await bucket(dir, leading, false);
    }
    const walk = async (dir: string, leading: string[]): Promise<void> => {
      for (const entry of await listing(fs, dir)) {
        if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
        const at = path.join(dir, entry.name);
        if (entry.name.startsWith("#")) await bucket(at, leading, true);
        else await walk(at, [...leading, entry.name]);
      }
    };
    if (deep) await walk(path.join(this.#folder, ...prefix), prefix);
    return found;
  }

  async loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    const { fs } = await node();
    await this.#prepared();
    const found = await this.#range(keyPrefix.map(segment), true);
    found.sort((a, b) => compareParts(a.parts, b.parts));
    const chunks: (Chunk | undefined)[] = [];
    await this.#limited([...found.keys()], async (i) => {
      const { file, parts } = found[i] as { file: string; parts: string[] };
      try {
        chunks[i] = {
          key: parts.map(unsegment),
          data: new Uint8Array(await fs.readFile(file)),
        };
      } catch (err) {
        // Removed since it was listed.
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    });
    return chunks.filter((c): c is Chunk => c !== undefined);
  }

  removeRange(keyPrefix: StorageKey): Promise<void> {
    return this.#after(this.#pathOf(keyPrefix), false, async () => {
      const { fs, path } = await node();
      await this.#prepared();
      const prefix = keyPrefix.map(segment);
      const dir = path.join(this.#folder, ...prefix);
      for (const known of this.#known)
        if (prefix.length === 0 || known === dir || known.startsWith(`${dir}/`))
          this.#known.delete(known);
      if (prefix.length === 0) {
        // Everything but the temporary folder, which a write in progress elsewhere may use, and
        // the layout marker.
        for (const entry of await listing(fs, this.#folder))
          if (!entry.name.startsWith("."))
            await fs.rm(path.join(this.#folder, entry.name), { recursive: true, force: true });
        return;
      }
      for (const { file } of await this.#range(prefix, false)) await fs.rm(file, { force: true });
      await fs.rm(dir, { recursive: true, force: true });
    });
  }
}

/** The entries of a folder; none when it does not exist. */
async function listing(fs: Fs, dir: string): Promise<import("node:fs").Dirent[]> {
  try {
    return await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw err;
  }
}

/** Key order, part by part (escaped parts, as the old layout listed them). */
function compareParts(a: string[], b: string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++)
    if (a[i] !== b[i]) return (a[i] as string) < (b[i] as string) ? -1 : 1;
  return a.length - b.length;
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
