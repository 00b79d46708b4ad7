import type { Chunk, StorageAdapterInterface, StorageKey } from "@automerge/automerge-repo/slim";

const SEP = "\u001f";

/** Keeps everything in memory: for tests and for users who keep nothing on the device. */
export class MemoryStorageAdapter implements StorageAdapterInterface {
  readonly #data = new Map<string, Uint8Array>();

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.#data.get(key.join(SEP));
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    this.#data.set(key.join(SEP), data);
  }

  async remove(key: StorageKey): Promise<void> {
    this.#data.delete(key.join(SEP));
  }

  #matches(stored: string, prefix: StorageKey): boolean {
    const p = prefix.join(SEP);
    return prefix.length === 0 || stored === p || stored.startsWith(p + SEP);
  }

  async loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    return [...this.#data]
      .filter(([k]) => this.#matches(k, keyPrefix))
      .map(([k, data]) => ({ key: k.split(SEP), data }));
  }

  async removeRange(keyPrefix: StorageKey): Promise<void> {
    for (const k of [...this.#data.keys()]) if (this.#matches(k, keyPrefix)) this.#data.delete(k);
  }

  /** Every stored key, for inspection in tests. */
  keys(): StorageKey[] {
    return [...this.#data.keys()].map((k) => k.split(SEP));
  }
}
