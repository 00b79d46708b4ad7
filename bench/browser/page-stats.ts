// What a bench page reports besides time: the JS heap (Chromium only) and the origin's storage.

/** The page's used JS heap in MB (Chromium's performance.memory), or NaN elsewhere. */
export function heapMb(): number {
  const memory = (performance as { memory?: { usedJSHeapSize: number } }).memory;
  return memory ? memory.usedJSHeapSize / 2 ** 20 : Number.NaN;
}

/** What this origin stores (IndexedDB and the rest), in MB. */
export async function storageMb(): Promise<number> {
  return ((await navigator.storage.estimate()).usage ?? 0) / 2 ** 20;
}

/** The bytes of every value in every IndexedDB database of this origin, and how many values. */
export async function indexedDbBytes(): Promise<{ bytes: number; records: number }> {
  let bytes = 0;
  let records = 0;
  const size = (v: unknown): number =>
    v instanceof Uint8Array || v instanceof ArrayBuffer
      ? v.byteLength
      : v && typeof v === "object"
        ? Object.values(v).reduce((s: number, x) => s + size(x), 0)
        : typeof v === "string"
          ? v.length
          : 0;
  for (const info of await indexedDB.databases()) {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open(info.name as string);
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    for (const name of Array.from(db.objectStoreNames)) {
      await new Promise<void>((resolve, reject) => {
        const cursor = db.transaction(name).objectStore(name).openCursor();
        cursor.onsuccess = () => {
          const c = cursor.result;
          if (!c) return resolve();
          bytes += size(c.value);
          records++;
          c.continue();
        };
        cursor.onerror = () => reject(cursor.error);
      });
    }
    db.close();
  }
  return { bytes, records };
}
