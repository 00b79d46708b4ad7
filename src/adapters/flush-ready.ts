import type { Repo } from "@automerge/automerge-repo/slim";

/**
 * Stores every loaded document. `Repo.flush()` (and so `Repo.shutdown()`) throws on a handle
 * still loading or unavailable in automerge-repo 2.5.6, so only the ready ones are flushed.
 */
export async function flushReady(repo: Repo): Promise<void> {
  const ready = Object.values(repo.handles)
    .filter((h) => h.isReady())
    .map((h) => h.documentId);
  if (ready.length > 0) await repo.flush(ready);
}
