import type { DocumentId, Repo } from "@automerge/automerge-repo/slim";
import type { Logger } from "pino";
import { isStoreUnavailable } from "./store/store-unavailable.js";

/** A document the relay stopped serving after the Repo failed on it. */
export interface IsolatedDocument {
  documentId: string;
  /** Where it failed: "sync" (applying or answering a message) or "save" (storing it). */
  stage: "sync" | "save";
  reason: string;
  at: number;
}

/**
 * Documents the relay no longer serves because automerge or automerge-repo failed on them (a
 * panic while applying a message, a save that throws). Whatever failed, only that document is
 * affected: the write gate refuses every message for it (TRY_LATER: the clients keep their
 * changes), every other document and user goes on, and nothing is left as an unhandled
 * rejection. It lasts until the relay restarts, which loads the document again from storage.
 */
export class IsolatedDocuments {
  readonly #docs = new Map<string, IsolatedDocument>();
  readonly #o: {
    log: Logger;
    onIsolate?: (stage: IsolatedDocument["stage"]) => void;
    storeAnswers?: () => Promise<boolean>;
  };

  constructor(options: {
    log: Logger;
    onIsolate?: (stage: IsolatedDocument["stage"]) => void;
    /**
     * Asked after a failure: false when the store itself does not answer (PostgreSQL down), in
     * which case the failure is not the document's and it is not isolated (the node stops
     * accepting until the store is back, and the next save retries what this one missed).
     */
    storeAnswers?: () => Promise<boolean>;
  }) {
    this.#o = options;
  }

  has(documentId: string): boolean {
    return this.#docs.has(documentId);
  }

  get size(): number {
    return this.#docs.size;
  }

  /** The isolated documents, oldest first, at most `max` of them. */
  list(max = 100): IsolatedDocument[] {
    return [...this.#docs.values()].slice(0, max);
  }

  isolate(documentId: string, stage: IsolatedDocument["stage"], cause: unknown): void {
    if (this.#docs.has(documentId)) return;
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    this.#docs.set(documentId, { documentId, stage, reason, at: Date.now() });
    this.#o.onIsolate?.(stage);
    this.#o.log.error(
      { documentId, stage, reason },
      "document isolated: the relay failed on it and serves it no more until restarted; other documents are unaffected (docs/operations.md)",
    );
  }

  /**
   * Catches what the Repo would otherwise only print or leave unhandled: a message it fails to
   * apply (automerge-repo logs it to the console and carries on with a broken handle) and a save
   * it makes on its own after a change (automerge-repo discards that promise, so a failure was an
   * unhandled rejection that stops a process without a handler). `repo.flush` still rejects on
   * a failed save: its callers decide (the final flush reports, the cache keeps the document).
   */
  guard(repo: Repo): void {
    const synchronizer = repo.synchronizer;
    const receive = synchronizer.receiveMessage.bind(synchronizer);
    synchronizer.receiveMessage = async (message) => {
      try {
        await receive(message);
      } catch (err) {
        if (!message.documentId) throw err;
        if (await this.#storeFailed(message.documentId, err)) return;
        this.isolate(message.documentId, "sync", err);
      }
    };

    const storage = repo.storageSubsystem;
    if (!storage) return;
    let flushing = 0;
    const flush = repo.flush.bind(repo);
    // Repo.flush calls saveDoc for every document before its first await: a save started while
    // `flushing` is set is one that flush's caller awaits and handles.
    repo.flush = (documents?: DocumentId[]) => {
      flushing++;
      try {
        return flush(documents);
      } finally {
        flushing--;
      }
    };
    const save = storage.saveDoc.bind(storage);
    storage.saveDoc = (documentId, doc) => {
      const saving = save(documentId, doc);
      if (flushing > 0) return saving;
      return saving.catch(async (err: unknown) => {
        if (await this.#storeFailed(documentId, err)) return;
        this.isolate(documentId, "save", err);
      });
    };
  }

  /**
   * Whether a failure was the store's rather than the document's. An error that says so itself (a
   * pool with no free connection in time, a dropped connection) is the store's even when the
   * store answers again by the time it is asked: on an overloaded node it usually does, and
   * isolating the document would stop it being served until a restart for the node's fault.
   */
  async #storeFailed(documentId: string, err: unknown): Promise<boolean> {
    if (isStoreUnavailable(err)) {
      this.#o.log.warn(
        { documentId, err },
        "the store was unavailable for a document; its next save retries (the node's health check decides whether to stop accepting)",
      );
      return true;
    }
    const answers = this.#o.storeAnswers;
    return answers ? !(await answers().catch(() => false)) : false;
  }
}
