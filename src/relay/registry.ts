import type { OrganizationId, UserId } from "../docs/ids.js";
import type { DocumentKind, DocumentMeta } from "../docs/kinds.js";
import type { RelayDatabase } from "./database.js";

interface Row {
  kind: DocumentKind;
  owner: string | null;
  organization: string;
}

/**
 * The registry of documents the relay knows: each one's kind, owner and organization, which
 * access decisions are made from. A document is registered when it is first accepted; its id is
 * never reused. Lookups are cached: they happen on every message.
 */
export class DocumentRegistry {
  readonly #db: RelayDatabase;
  readonly #cache = new Map<string, DocumentMeta | null>();
  readonly #get;
  readonly #insert;
  readonly #userDoc;
  readonly #insertUserDoc;
  readonly #orgDoc;
  readonly #insertOrgDoc;
  readonly #count;
  readonly #setOwner;

  constructor(db: RelayDatabase) {
    this.#db = db;
    this.#get = db.prepare<[string], Row>(
      "SELECT kind, owner, organization FROM documents WHERE doc_id = ?",
    );
    this.#insert = db.prepare(
      "INSERT OR IGNORE INTO documents (doc_id, kind, owner, organization, created_at) VALUES (?, ?, ?, ?, ?)",
    );
    this.#userDoc = db.prepare<[string, string, string], { doc_id: string }>(
      "SELECT doc_id FROM user_documents WHERE organization = ? AND user_id = ? AND kind = ?",
    );
    this.#insertUserDoc = db.prepare(
      "INSERT INTO user_documents (user_id, organization, kind, doc_id) VALUES (?, ?, ?, ?)",
    );
    this.#orgDoc = db.prepare<[string], { doc_id: string }>(
      "SELECT doc_id FROM organization_documents WHERE organization = ?",
    );
    this.#insertOrgDoc = db.prepare(
      "INSERT INTO organization_documents (organization, doc_id) VALUES (?, ?)",
    );
    this.#count = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM documents");
    this.#setOwner = db.prepare("UPDATE documents SET owner = ? WHERE doc_id = ?");
  }

  get(docId: string): DocumentMeta | undefined {
    const cached = this.#cache.get(docId);
    if (cached !== undefined) return cached ?? undefined;
    const row = this.#get.get(docId);
    const meta: DocumentMeta | null = row
      ? {
          kind: row.kind,
          organization: row.organization as OrganizationId,
          ...(row.owner !== null ? { owner: row.owner as UserId } : {}),
        }
      : null;
    // Unknown ids are not cached: a flood of them must not grow memory.
    if (meta) this.#cache.set(docId, meta);
    return meta ?? undefined;
  }

  /** Registers a document; false when the id was already registered. */
  register(docId: string, meta: DocumentMeta, now = Date.now()): boolean {
    const result = this.#insert.run(docId, meta.kind, meta.owner ?? null, meta.organization, now);
    this.#cache.delete(docId);
    return result.changes === 1;
  }

  /**
   * Forgets cached lookups (all, or one document's): another node changed an owner in the shared
   * store, and the next lookup must read it.
   */
  forgetCached(docId?: string): void {
    if (docId === undefined) this.#cache.clear();
    else this.#cache.delete(docId);
  }

  /** Gives a document to another owner (an admin's reassignment); takes effect on the next lookup. */
  setOwner(docId: string, owner: UserId): void {
    this.#setOwner.run(owner, docId);
    this.#cache.delete(docId);
  }

  /**
   * The id of a user's workspace, ledger or inbox, if created. A user is a user id within an
   * organization: the same id in another organization has documents of its own.
   */
  userDocument(
    userId: string,
    organization: string,
    kind: "workspace" | "ledger" | "inbox",
  ): string | undefined {
    return this.#userDoc.get(organization, userId, kind)?.doc_id;
  }

  /** Registers a per-user document and links it to its user, in one transaction. */
  registerUserDocument(
    docId: string,
    meta: DocumentMeta & { owner: UserId },
    now = Date.now(),
  ): void {
    this.#db.transaction(() => {
      this.register(docId, meta, now);
      this.#insertUserDoc.run(meta.owner, meta.organization, meta.kind, docId);
    })();
  }

  organizationDocument(organization: string): string | undefined {
    return this.#orgDoc.get(organization)?.doc_id;
  }

  registerOrganizationDocument(
    docId: string,
    organization: OrganizationId,
    now = Date.now(),
  ): void {
    this.#db.transaction(() => {
      this.register(docId, { kind: "organization", organization }, now);
      this.#insertOrgDoc.run(organization, docId);
    })();
  }

  count(): number {
    return this.#count.get()?.n ?? 0;
  }
}
