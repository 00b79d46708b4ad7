import type { OrganizationId, UserId } from "../docs/ids.js";
import type { DocumentMeta } from "../docs/kinds.js";
import type { RegistryStore, UserDocumentKind } from "./store/types.js";

/**
 * The registry of documents the relay knows: each one's kind, owner and organization, which
 * access decisions are made from. A document is registered when it is first accepted; its id is
 * never reused. Lookups happen on every message: `load` reads the store once per document and
 * keeps the answer, and `peek` answers from what was loaded, synchronously (outbound messages are
 * filtered in a synchronous send; a document not loaded yet is refused there, never leaked).
 */
export class DocumentRegistry {
  readonly #store: RegistryStore;
  readonly #cache = new Map<string, DocumentMeta>();
  /** Ids whose meta was set during the running `rereadAll`: its older read must not undo it. */
  readonly #setDuringReread = new Set<string>();
  #rereading: Promise<string[]> | undefined;
  /**
   * Ids looked up or set since the last `rereadAll`: kept by it even if not in use, so that an
   * entry a message was just judged on is still there for the answer that follows.
   */
  #used = new Set<string>();

  constructor(store: RegistryStore) {
    this.#store = store;
  }

  /** The meta of a document, read from the store unless loaded before. */
  async get(documentId: string): Promise<DocumentMeta | undefined> {
    this.#used.add(documentId);
    const cached = this.#cache.get(documentId);
    if (cached) return cached;
    const meta = await this.#store.get(documentId);
    // Unknown ids are not cached: a flood of them must not grow memory.
    if (meta) this.#set(documentId, meta);
    return meta;
  }

  /**
   * `get` for many ids: those not loaded (or marked to read again) are read from the store in one
   * round trip. Answers the meta of each registered id.
   */
  async getMany(documentIds: readonly string[]): Promise<Map<string, DocumentMeta>> {
    const out = new Map<string, DocumentMeta>();
    const toRead: string[] = [];
    for (const id of new Set(documentIds)) {
      this.#used.add(id);
      const cached = this.#cache.get(id);
      if (cached) out.set(id, cached);
      else toRead.push(id);
    }
    if (toRead.length === 0) return out;
    const read = await this.#store.getMany(toRead);
    for (const id of toRead) {
      const meta = read.get(id);
      if (!meta) continue;
      this.#set(id, meta);
      out.set(id, meta);
    }
    return out;
  }

  /** What `get` answered before (or registration set), without asking the store. */
  peek(documentId: string): DocumentMeta | undefined {
    return this.#cache.get(documentId);
  }

  /** Registers a document; false when the id was already registered. */
  async register(documentId: string, meta: DocumentMeta, now = Date.now()): Promise<boolean> {
    const registered = await this.#store.register(documentId, meta, now);
    this.#remove(documentId);
    if (registered) this.#set(documentId, meta);
    return registered;
  }

  /**
   * Reads a document's entry again (its owner changed, here or on another node) and replaces
   * what was loaded in one step: no lookup in between finds nothing.
   */
  async refresh(documentId: string): Promise<DocumentMeta | undefined> {
    const meta = await this.#store.get(documentId);
    if (meta) this.#set(documentId, meta);
    else this.#remove(documentId);
    return meta;
  }

  /**
   * Forgets what was loaded about a document (its owner changed, here or on another node): the
   * next lookup reads the store.
   */
  invalidate(documentId: string): void {
    this.#remove(documentId);
  }

  /**
   * Reads the metas of documents in use again, `perRead` ids per round trip, and replaces those
   * that changed (a node among several re-reads owners periodically: another node may have
   * reassigned a document without a notice arriving). Lookups keep answering from what was
   * loaded meanwhile, so no message waits on this. The metas of documents neither `inUse` nor
   * looked up since the last call are dropped instead: their next lookup reads the store, and
   * the cache holds no more than the documents in use and those asked about in the last two
   * periods. Answers the ids whose meta changed.
   */
  rereadAll(inUse: (documentId: string) => boolean = () => true, perRead = 500): Promise<string[]> {
    this.#rereading ??= this.#rereadAll(inUse, perRead).finally(() => {
      this.#rereading = undefined;
      this.#setDuringReread.clear();
    });
    return this.#rereading;
  }

  async #rereadAll(inUse: (documentId: string) => boolean, perRead: number): Promise<string[]> {
    const used = this.#used;
    this.#used = new Set();
    const ids: string[] = [];
    for (const id of [...this.#cache.keys()]) {
      if (inUse(id) || used.has(id)) ids.push(id);
      else this.#cache.delete(id);
    }
    const changed: string[] = [];
    for (let i = 0; i < ids.length; i += perRead) {
      const page = ids.slice(i, i + perRead);
      const read = await this.#store.getMany(page);
      for (const id of page) {
        const before = this.#cache.get(id);
        const after = read.get(id);
        if (before === undefined || this.#setDuringReread.has(id) || sameMeta(before, after))
          continue;
        if (after) this.#cache.set(id, after);
        else this.#cache.delete(id);
        changed.push(id);
      }
    }
    return changed;
  }

  /**
   * The id of a user's workspace, ledger or inbox, if created. A user is a user id within an
   * organization: the same id in another organization has documents of its own.
   */
  userDocument(
    userId: string,
    organization: string,
    kind: UserDocumentKind,
  ): Promise<string | undefined> {
    return this.#store.userDocument(organization, userId, kind);
  }

  /**
   * Registers a per-user document and links it to its user, in one transaction. Answers the id
   * linked to the user: another one when someone registered theirs first.
   */
  async registerUserDocument(
    documentId: string,
    meta: DocumentMeta & { owner: UserId; kind: UserDocumentKind },
    now = Date.now(),
  ): Promise<string> {
    const id = await this.#store.registerUserDocument(documentId, meta, now);
    if (id === documentId) this.#set(documentId, meta);
    return id;
  }

  organizationDocument(organization: string): Promise<string | undefined> {
    return this.#store.organizationDocument(organization);
  }

  /** As `registerUserDocument`, for an organization's document. */
  async registerOrganizationDocument(
    documentId: string,
    organization: string,
    now = Date.now(),
  ): Promise<string> {
    const id = await this.#store.registerOrganizationDocument(documentId, organization, now);
    if (id === documentId)
      this.#set(documentId, {
        kind: "organization",
        organization: organization as OrganizationId,
      });
    return id;
  }

  #set(documentId: string, meta: DocumentMeta): void {
    this.#cache.set(documentId, meta);
    this.#used.add(documentId);
    if (this.#rereading) this.#setDuringReread.add(documentId);
  }

  #remove(documentId: string): void {
    this.#cache.delete(documentId);
    if (this.#rereading) this.#setDuringReread.add(documentId);
  }

  count(): Promise<number> {
    return this.#store.count();
  }
}

function sameMeta(a: DocumentMeta, b: DocumentMeta | undefined): boolean {
  return (
    b !== undefined && a.kind === b.kind && a.owner === b.owner && a.organization === b.organization
  );
}
