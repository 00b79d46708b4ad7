import type { Chunk, StorageAdapterInterface, StorageKey } from "@automerge/automerge-repo/slim";

const STORE = "documents";

/**
 * Keeps chunks in one IndexedDB database, laid out as automerge-repo's own IndexedDB adapter
 * lays them out (object store "documents", values `{ key, binary }`), so databases written by
 * either open with the other.
 *
 * Unlike that adapter, each write transaction is committed as soon as its request is issued.
 * Left to auto-commit, a transaction commits only after the browser has answered its request,
 * one round trip later; a page that unloads in between aborts it, and the edit made just before
 * a reload is gone. An explicit `commit()` sends the write and its commit together.
 */
export class DeviceIndexedDbStorageAdapter implements StorageAdapterInterface {
  readonly database: string;
  #db: Promise<IDBDatabase> | undefined;

  constructor(database: string) {
    this.database = database;
  }

  #open(): Promise<IDBDatabase> {
    this.#db ??= new Promise((resolve, reject) => {
      const request = indexedDB.open(this.database, 1);
      request.onerror = () => reject(request.error);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(request.result);
    });
    return this.#db;
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    const request = (await this.#open()).transaction(STORE).objectStore(STORE).get(key);
    const value = (await result(request)) as { binary?: Uint8Array } | undefined;
    return value?.binary;
  }

  async save(key: StorageKey, binary: Uint8Array): Promise<void> {
    const transaction = (await this.#open()).transaction(STORE, "readwrite");
    transaction.objectStore(STORE).put({ key, binary }, key);
    return committed(transaction);
  }

  async remove(key: StorageKey): Promise<void> {
    const transaction = (await this.#open()).transaction(STORE, "readwrite");
    transaction.objectStore(STORE).delete(key);
    return committed(transaction);
  }

  async loadRange(prefix: StorageKey): Promise<Chunk[]> {
    const store = (await this.#open()).transaction(STORE).objectStore(STORE);
    const range = rangeOf(prefix);
    const [keys, values] = await Promise.all([
      result(store.getAllKeys(range)),
      result(store.getAll(range)),
    ]);
    return (keys as StorageKey[]).map((key, i) => ({
      key,
      data: (values[i] as { binary?: Uint8Array }).binary,
    }));
  }

  async removeRange(prefix: StorageKey): Promise<void> {
    const transaction = (await this.#open()).transaction(STORE, "readwrite");
    transaction.objectStore(STORE).delete(rangeOf(prefix));
    return committed(transaction);
  }

  /** Closes the connection, so that the database can be deleted. */
  async close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    if (db) (await db).close();
  }
}

// Every key that starts with `prefix` ([] is every key), read through the store's key order: a
// range costs what it holds. An array sorts after every string, so `[...prefix, []]` bounds all
// keys under the prefix, whatever characters their parts hold.
function rangeOf(prefix: StorageKey): IDBKeyRange {
  return IDBKeyRange.bound(prefix, [...prefix, []]);
}

function result<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function committed(transaction: IDBTransaction): Promise<void> {
  const done = new Promise<void>((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error ?? new Error("IndexedDB write aborted"));
  });
  // Engines without commit() auto-commit as before.
  transaction.commit?.();
  return done;
}
