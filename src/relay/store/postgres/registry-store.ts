import type { UserId } from "../../../docs/ids.js";
import type { DocumentKind, DocumentMeta } from "../../../docs/kinds.js";
import { metaOf } from "../sqlite/registry-store.js";
import type {
  HeadsEntry,
  HeadsStore,
  MemberStore,
  RegistryStore,
  UserDocumentKind,
} from "../types.js";
import type { PgDatabase } from "./database.js";

interface Row {
  doc_id: string;
  kind: DocumentKind;
  owner: string | null;
  organization: string;
}

/**
 * The registry on PostgreSQL. Registrations race safely: the link rows (`user_documents`,
 * `organization_documents`) are inserted first with ON CONFLICT DO NOTHING, which waits for a
 * concurrent insert of the same key to commit; the loser's transaction registers nothing.
 */
export class PgRegistryStore implements RegistryStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async get(documentId: string): Promise<DocumentMeta | undefined> {
    const { rows } = await this.#db.query<Row>(
      "SELECT kind, owner, organization FROM documents WHERE doc_id = $1",
      [documentId],
    );
    return rows[0] ? metaOf(rows[0]) : undefined;
  }

  async getMany(documentIds: readonly string[]): Promise<Map<string, DocumentMeta>> {
    const out = new Map<string, DocumentMeta>();
    if (documentIds.length === 0) return out;
    const { rows } = await this.#db.query<Row>(
      "SELECT doc_id, kind, owner, organization FROM documents WHERE doc_id = ANY($1::text[])",
      [documentIds],
    );
    for (const row of rows) out.set(row.doc_id, metaOf(row));
    return out;
  }

  async register(documentId: string, meta: DocumentMeta, now: number): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      `INSERT INTO documents (doc_id, kind, owner, organization, created_at)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (doc_id) DO NOTHING`,
      [documentId, meta.kind, meta.owner ?? null, meta.organization, now],
    );
    return rowCount === 1;
  }

  async userDocument(
    organization: string,
    userId: string,
    kind: UserDocumentKind,
  ): Promise<string | undefined> {
    const { rows } = await this.#db.query<{ doc_id: string }>(
      "SELECT doc_id FROM user_documents WHERE organization = $1 AND user_id = $2 AND kind = $3",
      [organization, userId, kind],
    );
    return rows[0]?.doc_id;
  }

  async registerUserDocument(
    documentId: string,
    meta: DocumentMeta & { owner: UserId; kind: UserDocumentKind },
    now: number,
  ): Promise<string> {
    return this.#db.tx(async (c) => {
      const linked = await c.query(
        `INSERT INTO user_documents (organization, user_id, kind, doc_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (organization, user_id, kind) DO NOTHING`,
        [meta.organization, meta.owner, meta.kind, documentId],
      );
      if (linked.rowCount === 0) {
        const { rows } = await c.query<{ doc_id: string }>(
          "SELECT doc_id FROM user_documents WHERE organization = $1 AND user_id = $2 AND kind = $3",
          [meta.organization, meta.owner, meta.kind],
        );
        return rows[0]?.doc_id as string;
      }
      await c.query(
        `INSERT INTO documents (doc_id, kind, owner, organization, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (doc_id) DO NOTHING`,
        [documentId, meta.kind, meta.owner, meta.organization, now],
      );
      return documentId;
    });
  }

  async organizationDocument(organization: string): Promise<string | undefined> {
    const { rows } = await this.#db.query<{ doc_id: string }>(
      "SELECT doc_id FROM organization_documents WHERE organization = $1",
      [organization],
    );
    return rows[0]?.doc_id;
  }

  async registerOrganizationDocument(
    documentId: string,
    organization: string,
    now: number,
  ): Promise<string> {
    return this.#db.tx(async (c) => {
      const linked = await c.query(
        `INSERT INTO organization_documents (organization, doc_id) VALUES ($1, $2)
         ON CONFLICT (organization) DO NOTHING`,
        [organization, documentId],
      );
      if (linked.rowCount === 0) {
        const { rows } = await c.query<{ doc_id: string }>(
          "SELECT doc_id FROM organization_documents WHERE organization = $1",
          [organization],
        );
        return rows[0]?.doc_id as string;
      }
      await c.query(
        `INSERT INTO documents (doc_id, kind, owner, organization, created_at)
         VALUES ($1, 'organization', NULL, $2, $3) ON CONFLICT (doc_id) DO NOTHING`,
        [documentId, organization, now],
      );
      return documentId;
    });
  }

  async count(): Promise<number> {
    const { rows } = await this.#db.query<{ n: number }>("SELECT count(*) AS n FROM documents");
    return rows[0]?.n ?? 0;
  }

  async list(
    kinds: readonly DocumentKind[],
  ): Promise<{ documentId: string; meta: DocumentMeta }[]> {
    const { rows } = await this.#db.query<Row>(
      "SELECT doc_id, kind, owner, organization FROM documents WHERE kind = ANY($1) ORDER BY seq",
      [kinds],
    );
    return rows.map((row) => ({ documentId: row.doc_id, meta: metaOf(row) }));
  }
}

/** Heads of stored documents on PostgreSQL. */
export class PgHeadsStore implements HeadsStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async record(documentId: string, entry: HeadsEntry): Promise<void> {
    await this.#db.query(
      `INSERT INTO document_heads (doc_id, hash, heads) VALUES ($1, $2, $3)
       ON CONFLICT (doc_id) DO UPDATE SET hash = excluded.hash, heads = excluded.heads`,
      [documentId, entry.hash, JSON.stringify(entry.heads)],
    );
  }

  async entry(documentId: string): Promise<HeadsEntry | undefined> {
    const { rows } = await this.#db.query<{ hash: string; heads: string }>(
      "SELECT hash, heads FROM document_heads WHERE doc_id = $1",
      [documentId],
    );
    const row = rows[0];
    return row ? { hash: row.hash, heads: JSON.parse(row.heads) as string[] } : undefined;
  }

  async entries(documentIds: readonly string[]): Promise<Map<string, HeadsEntry>> {
    const out = new Map<string, HeadsEntry>();
    if (documentIds.length === 0) return out;
    const { rows } = await this.#db.query<{ doc_id: string; hash: string; heads: string }>(
      "SELECT doc_id, hash, heads FROM document_heads WHERE doc_id = ANY($1::text[])",
      [documentIds],
    );
    for (const row of rows)
      out.set(row.doc_id, { hash: row.hash, heads: JSON.parse(row.heads) as string[] });
    return out;
  }

  async hashes(documentIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>(documentIds.map((id) => [id, ""]));
    if (documentIds.length === 0) return out;
    const { rows } = await this.#db.query<{ doc_id: string; hash: string }>(
      "SELECT doc_id, hash FROM document_heads WHERE doc_id = ANY($1)",
      [documentIds],
    );
    for (const row of rows) out.set(row.doc_id, row.hash);
    return out;
  }
}

/** Known members on PostgreSQL. */
export class PgMemberStore implements MemberStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async saw(organization: string, userId: string, now: number): Promise<void> {
    await this.#db.query(
      `INSERT INTO members (organization, user_id, first_seen) VALUES ($1, $2, $3)
       ON CONFLICT (organization, user_id) DO NOTHING`,
      [organization, userId, now],
    );
  }

  async isMember(organization: string, userId: string): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      "SELECT 1 FROM members WHERE organization = $1 AND user_id = $2",
      [organization, userId],
    );
    return (rowCount ?? 0) > 0;
  }
}
