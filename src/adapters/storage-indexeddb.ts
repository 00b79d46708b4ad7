import type { Chunk, StorageAdapterInterface, StorageKey } from "@automerge/automerge-repo/slim";

const STORE = "documents";

/** One queued operation: issued on the batch's transaction, settled by `done`. */
interface Operation {
  write: boolean;
  issue(store: IDBObjectStore): IDBRequest | undefined;
  /** Called with the request's result (reads, on success) or with nothing (writes, on commit). */
  resolve(value?: unknown): void;
  reject(error: unknown): void;
}

/**
 * Keeps chunks in one IndexedDB database, laid out as automerge-repo's own IndexedDB adapter
 * lays them out (object store "documents", values `{ key, binary }`), so databases written by
 * either open with the other.
 *
 * Operations issued in the same turn (a bulk page's saves under one `Promise.all`, the Repo's
 * saves of several documents) go into ONE transaction, in the order they were issued: a browser
 * commits a transaction at the cost of several round trips and a disk flush, so thousands of
 * one-save transactions cost seconds where one costs milliseconds. A save still resolves only
 * when its transaction has completed (nothing acknowledged is lost on a reload), and a read sees
 * every write issued before it. One write that fails aborts its batch: every write of it rejects.
 *
 * Unlike automerge-repo's adapter, each transaction is committed as soon as its requests are
 * issued. Left to auto-commit, a transaction commits only after the browser has answered its
 * requests, one round trip later; a page that unloads in between aborts it, and the edit made
 * just before a reload is gone. An explicit `commit()` sends the writes and their commit together.
 */
export class DeviceIndexedDbStorageAdapter implements StorageAdapterInterface {
  readonly database: string;
  #db: Promise<IDBDatabase> | undefined;
  #queue: Operation[] = [];

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

  /** Queues an operation; the first of a turn schedules the batch after the turn's others. */
  #enqueue<T>(write: boolean, issue: (store: IDBObjectStore) => IDBRequest | undefined) {
    return new Promise<T>((resolve, reject) => {
      if (this.#queue.length === 0) queueMicrotask(() => void this.#run());
      this.#queue.push({ write, issue, resolve: resolve as (v?: unknown) => void, reject });
    });
  }

  async #run(): Promise<void> {
    let db: IDBDatabase;
    try {
      db = await this.#open();
    } catch (error) {
      for (const op of this.#queue.splice(0)) op.reject(error);
      return;
    }
    // Operations queued while the database opened join this batch.
    const batch = this.#queue.splice(0);
    if (batch.length === 0) return;
    const writes = batch.some((op) => op.write);
    let transaction: IDBTransaction;
    try {
      transaction = db.transaction(STORE, writes ? "readwrite" : "readonly");
    } catch (error) {
      for (const op of batch) op.reject(error);
      return;
    }
    const store = transaction.objectStore(STORE);
    const committed: Operation[] = [];
    for (const op of batch) {
      let request: IDBRequest | undefined;
      try {
        request = op.issue(store);
      } catch (error) {
        // Thrown before anything was queued (a key IndexedDB cannot hold): this one alone fails.
        op.reject(error);
        continue;
      }
      // Writes (and a read with no request: close()'s marker) settle when the batch commits.
      if (op.write || !request) committed.push(op);
      else {
        request.onsuccess = () => op.resolve(request.result);
        request.onerror = () => op.reject(request.error);
      }
    }
    const failed = () => transaction.error ?? new Error("IndexedDB write aborted");
    transaction.oncomplete = () => {
      for (const op of committed) op.resolve();
    };
    transaction.onabort = () => {
      for (const op of committed) op.reject(failed());
    };
    // Engines without commit() auto-commit as before.
    transaction.commit?.();
  }

  load(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.#enqueue<{ binary?: Uint8Array } | undefined>(false, (store) =>
      store.get(key),
    ).then((value) => value?.binary);
  }

  save(key: StorageKey, binary: Uint8Array): Promise<void> {
    // IndexedDB clones a view with its whole buffer: a chunk cut from a larger buffer (a document
    // of a bulk page) would store the page with every document (megabytes per chunk).
    const own = binary.byteLength === binary.buffer.byteLength ? binary : binary.slice();
    return this.#enqueue(true, (store) => {
      store.put({ key, binary: own }, key);
      return undefined;
    });
  }

  remove(key: StorageKey): Promise<void> {
    return this.#enqueue(true, (store) => {
      store.delete(key);
      return undefined;
    });
  }

  async loadRange(prefix: StorageKey): Promise<Chunk[]> {
    // Each value carries its key (both adapters write `{ key, binary }`): one request, not a
    // second one for the keys, which halves the cost of thousands of lookups issued together.
    const values = await this.#enqueue<{ key: StorageKey; binary?: Uint8Array }[]>(false, (store) =>
      store.getAll(rangeOf(prefix)),
    );
    return values.map((value) => ({ key: value.key, data: value.binary }));
  }

  removeRange(prefix: StorageKey): Promise<void> {
    return this.#enqueue(true, (store) => {
      store.delete(rangeOf(prefix));
      return undefined;
    });
  }

  /** Closes the connection (after the operations queued), so that the database can be deleted. */
  async close(): Promise<void> {
    if (this.#queue.length > 0) await this.#enqueue(false, () => undefined);
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
