import { cbor } from "@automerge/automerge-repo/slim";
import type { ScopedStorageAdapter } from "../adapters/storage-scoped.js";
import { headsHash } from "../docs/heads-digest.js";
import type { DeviceStore } from "./device-store.js";
import type { SyncedHeads } from "./synced-heads.js";

/** The device record of the page being written: id → hash of the heads it is written at. */
const PENDING = "bulk-pending";

/** The key a bulk document is written under. */
const bulkKey = (id: string) => [id, "snapshot", "bulk"];

/** What the bulk first sync needs of the client. */
export interface BulkFetchContext {
  device: ScopedStorageAdapter;
  store: DeviceStore;
  synced: SyncedHeads;
  /** The Repo has a handle for it (opened meanwhile): it syncs the usual way. */
  loaded(id: string): boolean;
  /** POSTs JSON; undefined for an answer that is not 2xx; throws when the network fails. */
  post<T>(
    path: string,
    body: unknown,
    read: (response: Response) => Promise<unknown>,
  ): Promise<T | undefined>;
  /** Documents asked for per request. */
  pageSize: number;
  /** Documents written so far of those missing. */
  onProgress?(done: number, total: number): void;
  /** A document written with the row the relay derived from its bytes (the "My" rows keep it). */
  keepRow?(id: string, heads: string[], row: unknown): void;
}

interface Page {
  /** `row` is absent from older relays, and for documents whose row is not current there. */
  docs: { id: string; heads: string[]; data: Uint8Array; row?: unknown }[];
  more?: string[];
}

/**
 * A bulk page is written in three steps: its ids and heads are recorded as pending, its documents
 * written (together, so the folder storage commits them as one group), then recorded as synced. A
 * client killed between the last two finds here, at its next start, which documents it wrote:
 * those on the device are recorded as synced then, so nothing written is fetched again.
 */
export async function resumeBulk(ctx: BulkFetchContext): Promise<number> {
  const pending = await ctx.store.get<Record<string, string>>(PENDING);
  if (!pending || Object.keys(pending).length === 0) return 0;
  const written = new Map<string, string>();
  for (const [id, hash] of Object.entries(pending)) {
    // Known already (recorded, or changed here since): the record stands.
    if (ctx.synced.knows(id)) continue;
    if (await ctx.device.load(bulkKey(id))) written.set(id, hash);
  }
  await ctx.synced.record(written);
  await ctx.store.set(PENDING, {});
  return written.size;
}

/**
 * Fetches documents the device has nowhere, in pages, as the relay stores them, straight to the
 * device: no per-document sync, no loading. The next page is asked for while one is written.
 * Returns the ids written. A network failure throws (the run is tried again later and resumes);
 * an answer that is not 2xx stops here, and what is left syncs the usual way.
 */
export async function fetchMissing(ctx: BulkFetchContext, missing: string[]): Promise<string[]> {
  const queue = [...missing];
  const total = queue.length;
  const fetched: string[] = [];
  const request = (ids: string[]) =>
    ctx
      .post<Page>("/v1/sync/bulk", { ids }, async (r) =>
        cbor.decode(new Uint8Array(await r.arrayBuffer())),
      )
      .then((page) => ({ ids, page }));
  const ask = () => {
    // A document opened meanwhile came over the socket: it is not asked for again.
    const ids: string[] = [];
    while (queue.length > 0 && ids.length < ctx.pageSize) {
      const id = queue.shift() as string;
      if (!ctx.loaded(id)) ids.push(id);
    }
    if (ids.length === 0) return undefined;
    const next = request(ids);
    // Awaited below; not an unhandled rejection while a page is written.
    next.catch(() => undefined);
    return next;
  };
  let next = ask();
  try {
    while (next) {
      const { ids, page } = await next;
      if (!page) break;
      // The relay caps the bytes of one answer: the ids it left out are asked for again.
      const more = (page.more ?? []).filter((id) => ids.includes(id));
      if (page.docs.length > 0) queue.unshift(...more);
      next = ask();
      const hashes = new Map<string, string>();
      for (const doc of page.docs) {
        // A document opened meanwhile syncs the usual way; its storage is the Repo's.
        if (!ctx.loaded(doc.id)) hashes.set(doc.id, await headsHash(doc.heads));
      }
      await ctx.store.set(PENDING, Object.fromEntries(hashes));
      const written = page.docs.filter((doc) => hashes.has(doc.id));
      await Promise.all(written.map((doc) => ctx.device.saveOnDevice(bulkKey(doc.id), doc.data)));
      // After the bytes: a row on the device always describes bytes that are there. A row not
      // written (a crash now) is derived from the bytes when listed.
      for (const doc of written)
        if (doc.row !== undefined) ctx.keepRow?.(doc.id, doc.heads, doc.row);
      await ctx.synced.record(hashes);
      fetched.push(...hashes.keys());
      ctx.onProgress?.(fetched.length, total);
    }
  } finally {
    await next?.catch(() => undefined);
  }
  if (fetched.length > 0) await ctx.store.set(PENDING, {});
  return fetched;
}
