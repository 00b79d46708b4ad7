import type { DocumentId, Repo } from "@automerge/automerge-repo/slim";

/**
 * Documents the last digest exchange confirmed the relay stores at this device's heads. The
 * client's Repo does not offer them to the relay when they are opened from the device, so opening
 * one costs no message: the digest already said there is nothing to exchange. A quiet document
 * wakes (and syncs the usual way) when it changes on this device, or when a later digest finds it
 * changed on the relay (it is then not confirmed, so not quiet). The user's own records
 * (workspace, ledger, inbox, organization) are never quiet: they are few and must arrive live.
 */
export class QuietDocuments {
  readonly #repo: Repo;
  #ids = new Set<string>();

  constructor(repo: Repo) {
    this.#repo = repo;
  }

  /** The Repo's `announce`: false for a quiet document loaded from the device. */
  async announce(documentId: string): Promise<boolean> {
    if (!this.#ids.has(documentId)) return true;
    const handle = this.#repo.handles[documentId as DocumentId];
    if (!handle) return true;
    // Asked while it loads: wait to see whether the device had it.
    await handle.whenReady(["ready", "requesting", "unavailable", "deleted", "unloaded"]);
    // Not on the device after all (it is being requested): the relay must be asked.
    return !handle.isReady() || !this.#ids.has(documentId);
  }

  /** After a digest exchange: these, less `never`, are quiet now; the others wake. */
  set(confirmed: ReadonlySet<string>, never: readonly string[]): void {
    const excluded = new Set(never);
    const next = new Set([...confirmed].filter((id) => !excluded.has(id)));
    const woke = [...this.#ids].some(
      (id) => !next.has(id) && this.#repo.handles[id as DocumentId] !== undefined,
    );
    this.#ids = next;
    if (woke) this.#repo.shareConfigChanged();
  }

  /** The document changed here: it syncs with the relay from now on. */
  wake(documentId: string): void {
    if (this.#ids.delete(documentId)) this.#repo.shareConfigChanged();
  }
}
