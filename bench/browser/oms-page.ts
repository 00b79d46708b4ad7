// The oms-sync side of the browser cold sync: the BUILT package (dist/), IndexedDB on the device.
import { createClient } from "../../dist/index.js";
import { heapMb, indexedDbBytes, storageMb } from "./page-stats.js";

/** A cold sync to this (empty) profile: createClient to every document stored in IndexedDB. */
async function coldSync(url: string, token: string) {
  const start = performance.now();
  const client = await createClient({ url, token, storage: "indexeddb" });
  await client.sync.now();
  await client.flush();
  const ms = performance.now() - start;
  const documents = client.sync.status.progress.documentsTotal;
  const heap = heapMb();
  await client.close();
  return { ms, documents, heapMb: heap, storageMb: await storageMb(), ...(await indexedDbBytes()) };
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

Object.assign(window, { coldSync, floor });
