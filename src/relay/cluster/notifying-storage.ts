import type { Chunk, StorageAdapterInterface, StorageKey } from "@automerge/automerge-repo/slim";

/**
 * The Repo's storage adapter, telling after each committed chunk (snapshot or incremental) which
 * document it belongs to. The notice to other nodes goes out only after the store has the data:
 * a node that reads on a notice always finds what the notice announced.
 */
export class NotifyingStorage implements StorageAdapterInterface {
  readonly #inner: StorageAdapterInterface;
  readonly #onStored: (documentId: string) => void;

  constructor(inner: StorageAdapterInterface, onStored: (documentId: string) => void) {
    this.#inner = inner;
    this.#onStored = onStored;
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    await this.#inner.save(key, data);
    if (key.length === 3 && (key[1] === "snapshot" || key[1] === "incremental"))
      this.#onStored(key[0] as string);
  }

  load(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.#inner.load(key);
  }

  remove(key: StorageKey): Promise<void> {
    return this.#inner.remove(key);
  }

  loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    return this.#inner.loadRange(keyPrefix);
  }

  removeRange(keyPrefix: StorageKey): Promise<void> {
    return this.#inner.removeRange(keyPrefix);
  }
}
