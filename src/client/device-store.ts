import type { StorageAdapterInterface } from "@automerge/automerge-repo/slim";

/**
 * Small JSON records the client keeps on the device beside the documents (the cached session,
 * the last complete sync), in the same storage adapter under keys of their own.
 */
export class DeviceStore {
  readonly #storage: StorageAdapterInterface | undefined;
  readonly #memory = new Map<string, unknown>();

  /** With no storage the records live in memory only (online-only users). */
  constructor(storage: StorageAdapterInterface | undefined) {
    this.#storage = storage;
  }

  async get<T>(name: string): Promise<T | undefined> {
    if (!this.#storage) return this.#memory.get(name) as T | undefined;
    const bytes = await this.#storage.load(["oms-sync", name]);
    if (!bytes) return undefined;
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as T;
    } catch {
      return undefined;
    }
  }

  async set(name: string, value: unknown): Promise<void> {
    if (!this.#storage) {
      this.#memory.set(name, value);
      return;
    }
    await this.#storage.save(["oms-sync", name], new TextEncoder().encode(JSON.stringify(value)));
  }
}
