import type { DeviceStore } from "./device-store.js";

/**
 * What this device knows it has in sync with the relay: the hash of each document's heads at the
 * last complete sync, and the documents changed here since ("dirty"). A reconnect sends a digest
 * of the first (leaving the second out) and syncs only what differs.
 */
export class SyncedHeads {
  readonly #store: DeviceStore;
  #hashes = new Map<string, string>();
  #dirty = new Set<string>();
  #saving: Promise<void> = Promise.resolve();
  /** A write of the dirty list is queued and has not started: it will include new marks. */
  #dirtyQueued = false;

  constructor(store: DeviceStore) {
    this.#store = store;
  }

  async load(): Promise<void> {
    this.#hashes = new Map(
      Object.entries((await this.#store.get<Record<string, string>>("synced-heads")) ?? {}),
    );
    this.#dirty = new Set((await this.#store.get<string[]>("dirty")) ?? []);
  }

  get empty(): boolean {
    return this.#hashes.size === 0;
  }

  hash(documentId: string): string | undefined {
    return this.#dirty.has(documentId) ? undefined : this.#hashes.get(documentId);
  }

  /** Synced by this device once (so kept on it), or changed here. */
  knows(documentId: string): boolean {
    return this.#hashes.has(documentId) || this.#dirty.has(documentId);
  }

  syncedIds(): string[] {
    return [...this.#hashes.keys()];
  }

  /** Documents no longer in the user's scope. */
  async forget(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      this.#hashes.delete(id);
      this.#dirty.delete(id);
    }
    this.#saving = this.#saving.then(async () => {
      await this.#store.set("synced-heads", Object.fromEntries(this.#hashes));
      await this.#store.set("dirty", [...this.#dirty]);
    });
    await this.#saving;
  }

  dirtyIds(): string[] {
    return [...this.#dirty];
  }

  /** A local change (or one not yet known to be synced): the document is synced the usual way. */
  markDirty(documentId: string): void {
    if (this.#dirty.has(documentId)) return;
    this.#dirty.add(documentId);
    // One write for every document marked before it starts: a burst of new documents offline
    // rewrote the whole list once per document.
    if (this.#dirtyQueued) return;
    this.#dirtyQueued = true;
    this.#saving = this.#saving.then(() => {
      this.#dirtyQueued = false;
      return this.#store.set("dirty", [...this.#dirty]);
    });
  }

  /** After a complete sync: these documents are stored by the relay at these hashes. */
  async record(synced: ReadonlyMap<string, string>): Promise<void> {
    for (const [id, hash] of synced) {
      this.#hashes.set(id, hash);
      this.#dirty.delete(id);
    }
    this.#saving = this.#saving.then(async () => {
      await this.#store.set("synced-heads", Object.fromEntries(this.#hashes));
      await this.#store.set("dirty", [...this.#dirty]);
    });
    await this.#saving;
  }

  /** Waits for pending writes. */
  flush(): Promise<void> {
    return this.#saving;
  }
}
