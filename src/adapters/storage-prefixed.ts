import type { Chunk, StorageAdapterInterface, StorageKey } from "@automerge/automerge-repo/slim";

/**
 * Keeps every key under a fixed prefix of another adapter, so that several owners can share one
 * storage without seeing each other's keys: a key `[a, b]` is stored as `[...prefix, a, b]`, and
 * nothing outside the prefix is ever read, listed or removed. With the file adapter the prefix is
 * a subfolder.
 */
export class PrefixedStorageAdapter implements StorageAdapterInterface {
  readonly #inner: StorageAdapterInterface;
  readonly #prefix: readonly string[];

  constructor(inner: StorageAdapterInterface, prefix: readonly string[]) {
    if (prefix.length === 0) throw new Error("PrefixedStorageAdapter needs a non-empty prefix");
    this.#inner = inner;
    this.#prefix = [...prefix];
  }

  #key(key: StorageKey): StorageKey {
    return [...this.#prefix, ...key];
  }

  load(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.#inner.load(this.#key(key));
  }

  save(key: StorageKey, data: Uint8Array): Promise<void> {
    return this.#inner.save(this.#key(key), data);
  }

  remove(key: StorageKey): Promise<void> {
    return this.#inner.remove(this.#key(key));
  }

  async loadRange(prefix: StorageKey): Promise<Chunk[]> {
    const n = this.#prefix.length;
    return (await this.#inner.loadRange(this.#key(prefix)))
      .filter((chunk) => this.#prefix.every((part, i) => chunk.key[i] === part))
      .map((chunk) => ({ ...chunk, key: chunk.key.slice(n) }));
  }

  removeRange(prefix: StorageKey): Promise<void> {
    return this.#inner.removeRange(this.#key(prefix));
  }
}
