import type { DocumentId, Repo } from "@automerge/automerge-repo/slim";
import { OmsError } from "../docs/errors.js";

/** What a flush stored and what it could not. */
export interface FlushReport {
  stored: number;
  failed: { documentId: string; error: string }[];
}

/**
 * Stores every loaded document, each on its own: one that cannot be stored (its save throws, or
 * automerge panics saving it) is reported and every other one is stored all the same.
 * `Repo.flush()` (and so `Repo.shutdown()`) throws on a handle still loading or unavailable in
 * automerge-repo 2.5.6, so only the ready ones are flushed.
 */
export async function flushEach(repo: Repo): Promise<FlushReport> {
  const ready = Object.values(repo.handles)
    .filter((h) => h.isReady())
    .map((h) => h.documentId as string);
  const results = await Promise.allSettled(ready.map((id) => repo.flush([id as DocumentId])));
  const failed: FlushReport["failed"] = [];
  results.forEach((result, i) => {
    if (result.status === "fulfilled") return;
    const error = result.reason;
    failed.push({
      documentId: ready[i] as string,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  });
  return { stored: ready.length - failed.length, failed };
}

/** {@link flushEach}, then throws INTERNAL naming the documents it could not store, if any. */
export async function flushReady(repo: Repo): Promise<void> {
  const { failed } = await flushEach(repo);
  if (failed.length === 0) return;
  throw new OmsError(
    "INTERNAL",
    `${failed.length} document(s) could not be stored (${failed
      .slice(0, 5)
      .map((f) => `${f.documentId}: ${f.error}`)
      .join("; ")}); every other one was stored`,
    { cause: failed },
  );
}
