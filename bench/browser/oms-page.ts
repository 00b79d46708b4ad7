// The oms-sync side of the browser cold sync: the BUILT package (dist/), IndexedDB on the device.
import { createClient } from "../../dist/index.js";
import { heapMb, indexedDbBytes, storageMb } from "./page-stats.js";

/** A cold sync to this (empty) profile: createClient to every document stored in IndexedDB. */
async function coldSync(url: string, token: string) {
  const trace = traceIndexedDb();
  const start = performance.now();
  const client = await createClient({ url, token, storage: "indexeddb" });
  await client.sync.now();
  await client.flush();
  const ms = performance.now() - start;
  const documents = client.sync.status.progress.documentsTotal;
  const heap = heapMb();
  await client.close();
  const profile = trace(start);
  return {
    ms,
    documents,
    heapMb: heap,
    storageMb: await storageMb(),
    ...(await indexedDbBytes()),
    profile,
  };
}

/**
 * The floor: `n` records of `bytesEach` bytes put into a new IndexedDB database, 500 to a
 * transaction, with the default durability both adapters use.
 */
async function floor(n: number, bytesEach: number) {
  const open = indexedDB.open(`floor-${Math.random()}`, 1);
  open.onupgradeneeded = () => open.result.createObjectStore("chunks");
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const bytes = new Uint8Array(bytesEach).fill(7);
  const start = performance.now();
  for (let i = 0; i < n; i += 500) {
    const tx = db.transaction("chunks", "readwrite");
    for (let j = i; j < Math.min(n, i + 500); j++) tx.objectStore("chunks").put(bytes, `doc${j}`);
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  }
  const ms = performance.now() - start;
  db.close();
  return { ms };
}

/**
 * Where the time goes: IndexedDB transactions opened (by mode) and the time between the first
 * and the last, and the page's fetches (the session, the digest, the bulk pages) and when they
 * ended, in ms from the start.
 */
function traceIndexedDb() {
  const counts: Record<string, number> = {};
  const fetches: { path: string; at: number; ms: number }[] = [];
  let first = Number.NaN;
  let last = Number.NaN;
  const transaction = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: unknown[]) {
    const mode = (args[1] as string | undefined) ?? "readonly";
    counts[mode] = (counts[mode] ?? 0) + 1;
    const now = performance.now();
    if (Number.isNaN(first)) first = now;
    last = now;
    return (transaction as (...a: unknown[]) => IDBTransaction).apply(this, args);
  } as typeof transaction;
  const fetch = window.fetch;
  window.fetch = async (input, init) => {
    const t = performance.now();
    const response = await fetch(input, init);
    const path = new URL(String(input instanceof Request ? input.url : input)).pathname;
    fetches.push({
      path,
      at: Math.round(performance.now()),
      ms: Math.round(performance.now() - t),
    });
    return response;
  };
  return (start: number) => {
    IDBDatabase.prototype.transaction = transaction;
    window.fetch = fetch;
    return {
      transactions: counts,
      firstTransactionAt: Math.round(first - start),
      lastTransactionAt: Math.round(last - start),
      fetches: fetches.map((f) => ({ ...f, at: Math.round(f.at - start) })),
    };
  };
}

Object.assign(window, { coldSync, floor });
