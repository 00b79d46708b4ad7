import type { Chunk, StorageAdapterInterface, StorageKey } from "@automerge/automerge-repo/slim";
import { OmsError } from "../docs/errors.js";
import { MemoryStorageAdapter } from "./storage-memory.js";

/**
 * Puts on the device only the documents in scope (a user's "My" documents and own documents);
 * everything else stays in memory. A document that enters scope later has what was held for it
 * written to the device then. Keys that name no document (the storage id) always go through.
 */
export class ScopedStorageAdapter implements StorageAdapterInterface {
  readonly #device: StorageAdapterInterface;
  readonly #held = new MemoryStorageAdapter();
  readonly #inScope: (documentId: string) => boolean;
  readonly #heldIds = new Set<string>();
  #closed = false;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #onStored: ((documentId: string, removed: boolean) => void) | undefined;

  /**
   * `onStored` hears of every document whose chunks were written to the device or removed from
   * it (the client keeps its "My" rows up to date by it).
   */
  constructor(
    device: StorageAdapterInterface,
    inScope: (documentId: string) => boolean,
    onStored?: (documentId: string, removed: boolean) => void,
  ) {
    this.#device = device;
    this.#inScope = inScope;
    this.#onStored = onStored;
  }

  #stored(key: StorageKey, removed: boolean): void {
    const part = key[1];
    if (key.length === 1 || part === "snapshot" || part === "incremental")
      this.#onStored?.(key[0] as string, removed);
  }

  #onDevice(key: StorageKey): boolean {
    return key.length < 2 || this.#inScope(key[0] as string);
  }

  /** Writes what was held in memory for a document that is now in scope. */
  async admit(documentId: string): Promise<void> {
    if (!this.#heldIds.has(documentId)) return;
    for (const chunk of await this.#held.loadRange([documentId])) {
      if (chunk.data) await this.#device.save(chunk.key, chunk.data);
    }
    await this.#held.removeRange([documentId]);
    this.#heldIds.delete(documentId);
  }

  /**
   * Stops writing: the Repo's debounced saves can fire after its owner closed (everything was
   * flushed at close), and must not touch the device then.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
  }

  #track<T>(operation: Promise<T>): Promise<T> {
    this.#inFlight.add(operation);
    void operation.finally(() => this.#inFlight.delete(operation)).catch(() => undefined);
    return operation;
  }

  /** Writes straight to the device: for documents known to be in scope before "My" says so. */
  async saveOnDevice(key: StorageKey, data: Uint8Array): Promise<void> {
    // Its caller records what it wrote: a write skipped must not look done.
    if (this.#closed) throw new OmsError("OFFLINE", "the client was closed during the write");
    await this.#track(this.#device.save(key, data));
    this.#stored(key, false);
  }

  /** Document ids held in memory only. */
  heldDocuments(): string[] {
    return [...this.#heldIds];
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    return (await this.#held.load(key)) ?? this.#device.load(key);
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    if (this.#closed) return;
    if (this.#onDevice(key)) {
      await this.#track(this.#device.save(key, data));
      if (key.length > 1) this.#stored(key, false);
      return;
    }
    this.#heldIds.add(key[0] as string);
    return this.#held.save(key, data);
  }

  async remove(key: StorageKey): Promise<void> {
    if (this.#closed) return;
    await this.#held.remove(key);
    if (this.#onDevice(key)) await this.#device.remove(key);
  }

  async loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    return [
      ...(await this.#device.loadRange(keyPrefix)),
      ...(await this.#held.loadRange(keyPrefix)),
    ];
  }

  async removeRange(keyPrefix: StorageKey): Promise<void> {
    if (this.#closed) return;
    await this.#held.removeRange(keyPrefix);
    await this.#device.removeRange(keyPrefix);
    if (keyPrefix.length > 0) this.#stored(keyPrefix, true);
  }
}
