import type { OrganizationId, UserId } from "../../../docs/ids.js";
import type { DocumentKind, DocumentMeta } from "../../../docs/kinds.js";
import type { RelayDatabase } from "../../database.js";
import type {
  HeadsEntry,
  HeadsStore,
  MemberStore,
  RegistryStore,
  UserDocumentKind,
} from "../types.js";

interface Row {
  kind: DocumentKind;
  owner: string | null;
  organization: string;
}

export function metaOf(row: Row): DocumentMeta {
  return {
    kind: row.kind,
    organization: row.organization as OrganizationId,
    ...(row.owner !== null ? { owner: row.owner as UserId } : {}),
  };
}

/** The registry on SQLite (tables `documents`, `user_documents`, `organization_documents`). */
export class SqliteRegistryStore implements RegistryStore {
  readonly #db: RelayDatabase;
  readonly #get;
  readonly #insert;
  readonly #userDoc;
  readonly #insertUserDoc;
  readonly #orgDoc;
  readonly #insertOrgDoc;
  readonly #count;

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
  }

  async get(documentId: string): Promise<DocumentMeta | undefined> {
    return this.getNow(documentId);
  }

  async getMany(documentIds: readonly string[]): Promise<Map<string, DocumentMeta>> {
    const out = new Map<string, DocumentMeta>();
    for (const id of documentIds) {
      const meta = this.getNow(id);
      if (meta) out.set(id, meta);
    }
    return out;
  }

  getNow(documentId: string): DocumentMeta | undefined {
    const row = this.#get.get(documentId);
    return row ? metaOf(row) : undefined;
  }

  async register(documentId: string, meta: DocumentMeta, now: number): Promise<boolean> {
    return this.#registerNow(documentId, meta, now);
  }

  #registerNow(documentId: string, meta: DocumentMeta, now: number): boolean {
    const result = this.#insert.run(
      documentId,
      meta.kind,
      meta.owner ?? null,
      meta.organization,
      now,
    );
    return result.changes === 1;
  }

  async userDocument(
    organization: string,
    userId: string,
    kind: UserDocumentKind,
  ): Promise<string | undefined> {
    return this.#userDoc.get(organization, userId, kind)?.doc_id;
  }

  async registerUserDocument(
    documentId: string,
    meta: DocumentMeta & { owner: UserId; kind: UserDocumentKind },
    now: number,
  ): Promise<string> {
    return this.#db.transaction(() => {
      const existing = this.#userDoc.get(meta.organization, meta.owner, meta.kind)?.doc_id;
      if (existing) return existing;
      this.#registerNow(documentId, meta, now);
      this.#insertUserDoc.run(meta.owner, meta.organization, meta.kind, documentId);
      return documentId;
    })();
  }

  async organizationDocument(organization: string): Promise<string | undefined> {
    return this.#orgDoc.get(organization)?.doc_id;
  }

  async registerOrganizationDocument(
    documentId: string,
    organization: string,
    now: number,
  ): Promise<string> {
    return this.#db.transaction(() => {
      const existing = this.#orgDoc.get(organization)?.doc_id;
      if (existing) return existing;
      this.#registerNow(
        documentId,
        { kind: "organization", organization: organization as OrganizationId },
        now,
      );
      this.#insertOrgDoc.run(organization, documentId);
      return documentId;
    })();
  }

  async count(): Promise<number> {
    return this.#count.get()?.n ?? 0;
  }

  async list(
    kinds: readonly DocumentKind[],
  ): Promise<{ documentId: string; meta: DocumentMeta }[]> {
    if (kinds.length === 0) return [];
    return this.#db
      .prepare<string[], Row & { doc_id: string }>(
        `SELECT doc_id, kind, owner, organization FROM documents
         WHERE kind IN (${kinds.map(() => "?").join(", ")}) ORDER BY rowid`,
      )
      .all(...kinds)
      .map((row) => ({ documentId: row.doc_id, meta: metaOf(row) }));
  }
}

/** Heads of stored documents on SQLite (table `document_heads`). */
export class SqliteHeadsStore implements HeadsStore {
  readonly #upsert;
  readonly #select;

  constructor(db: RelayDatabase) {
    this.#upsert = db.prepare(
      "INSERT INTO document_heads (doc_id, hash, heads) VALUES (?, ?, ?) ON CONFLICT(doc_id) DO UPDATE SET hash = excluded.hash, heads = excluded.heads",
    );
    this.#select = db.prepare<[string], { hash: string; heads: string }>(
      "SELECT hash, heads FROM document_heads WHERE doc_id = ?",
    );
  }

  async record(documentId: string, entry: HeadsEntry): Promise<void> {
    this.#upsert.run(documentId, entry.hash, JSON.stringify(entry.heads));
  }

  async entry(documentId: string): Promise<HeadsEntry | undefined> {
    const row = this.#select.get(documentId);
    return row ? { hash: row.hash, heads: JSON.parse(row.heads) as string[] } : undefined;
  }

  async entries(documentIds: readonly string[]): Promise<Map<string, HeadsEntry>> {
    const out = new Map<string, HeadsEntry>();
    for (const id of documentIds) {
      const row = this.#select.get(id);
      if (row) out.set(id, { hash: row.hash, heads: JSON.parse(row.heads) as string[] });
    }
    return out;
  }

  async hashes(documentIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const id of documentIds) out.set(id, this.#select.get(id)?.hash ?? "");
    return out;
  }
}

/** Known members on SQLite (table `members`). */
export class SqliteMemberStore implements MemberStore {
  readonly #insert;
  readonly #get;

  constructor(db: RelayDatabase) {
    this.#insert = db.prepare(
      "INSERT OR IGNORE INTO members (organization, user_id, first_seen) VALUES (?, ?, ?)",
    );
    this.#get = db.prepare<[string, string], { user_id: string }>(
      "SELECT user_id FROM members WHERE organization = ? AND user_id = ?",
    );
  }

  async saw(organization: string, userId: string, now: number): Promise<void> {
    this.#insert.run(organization, userId, now);
  }

  async isMember(organization: string, userId: string): Promise<boolean> {
    return this.#get.get(organization, userId) !== undefined;
  }
}
