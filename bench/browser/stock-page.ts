// The stock side of the browser cold sync: automerge-repo with its IndexedDB storage and
// WebSocket client adapters, as its documentation sets up a browser client.
import { type DocumentId, Repo } from "@automerge/automerge-repo";
import { BrowserWebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { IndexedDBStorageAdapter } from "@automerge/automerge-repo-storage-indexeddb";
import { relayHoldsAll } from "../relay-heads.js";
import { heapMb, indexedDbBytes, storageMb } from "./page-stats.js";

/**
 * A cold sync of `ids` to this (empty) profile, `concurrency` finds in flight (0: all at once):
 * from the Repo's construction to every document stored, with the relay holding the same heads.
 */
async function coldSync(url: string, ids: DocumentId[], concurrency: number) {
  const start = performance.now();
  const repo = new Repo({
    network: [new BrowserWebSocketClientAdapter(url, 1000)],
    storage: new IndexedDBStorageAdapter(),
  });
  await new Promise<void>((r) => repo.networkSubsystem.once("peer", () => r()));
  let next = 0;
  const handles: Awaited<ReturnType<typeof repo.find>>[] = [];
  const worker = async () => {
    while (next < ids.length) handles.push(await repo.find(ids[next++] as DocumentId));
  };
  await Promise.all(
    Array.from({ length: Math.min(concurrency || ids.length, ids.length) }, worker),
  );
  await relayHoldsAll(repo, handles);
  await repo.flush();
  const ms = performance.now() - start;
  return {
    ms,
    documents: handles.length,
    heapMb: heapMb(),
    storageMb: await storageMb(),
    ...(await indexedDbBytes()),
  };
}

Object.assign(window, { coldSync });
