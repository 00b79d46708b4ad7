import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";

/** The relay's embedded database: one SQLite file holding chunks, registry and sequences. */
export type RelayDatabase = Database.Database;

// Each migration runs once, in order, inside a transaction; `user_version` records progress.
const migrations: readonly string[] = [
  `CREATE TABLE chunks (
     id   INTEGER PRIMARY KEY,
     key  TEXT NOT NULL UNIQUE,
     data BLOB NOT NULL
   );
   CREATE TABLE documents (
     doc_id       TEXT PRIMARY KEY,
     kind         TEXT NOT NULL,
     owner        TEXT,
     organization TEXT NOT NULL,
     created_at   INTEGER NOT NULL
   );
   CREATE INDEX documents_by_owner ON documents(owner, kind);
   CREATE TABLE user_documents (
     user_id      TEXT NOT NULL,
     organization TEXT NOT NULL,
     kind         TEXT NOT NULL,
     doc_id       TEXT NOT NULL UNIQUE,
     PRIMARY KEY (user_id, kind)
   );
   CREATE TABLE organization_documents (
     organization TEXT PRIMARY KEY,
     doc_id       TEXT NOT NULL UNIQUE
   );
   CREATE TABLE sequences (
     name  TEXT PRIMARY KEY,
     value INTEGER NOT NULL
   );`,
  `CREATE TABLE submission_requests (
     request_id  TEXT PRIMARY KEY,
     order_id    TEXT NOT NULL,
     received_at INTEGER NOT NULL
   );
   CREATE TABLE submission_outcomes (
     request_id   TEXT PRIMARY KEY,
     order_id     TEXT NOT NULL,
     organization TEXT NOT NULL,
     owner        TEXT NOT NULL,
     requested_by TEXT NOT NULL,
     status       TEXT NOT NULL CHECK (status IN ('accepted', 'duplicate', 'rejected')),
     revision     INTEGER,
     order_number TEXT,
     heads        TEXT,
     duplicate_of TEXT,
     code         TEXT,
     reason       TEXT,
     processed_at INTEGER NOT NULL,
     delivered    INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX submission_outcomes_by_order ON submission_outcomes(order_id, revision);
   CREATE TABLE order_numbers (
     order_id     TEXT PRIMARY KEY,
     organization TEXT NOT NULL,
     order_number TEXT NOT NULL UNIQUE
   );
   CREATE TABLE assistance_tickets (
     doc_id        TEXT PRIMARY KEY,
     organization  TEXT NOT NULL,
     owner         TEXT NOT NULL,
     ticket_number TEXT NOT NULL UNIQUE,
     received_at   INTEGER NOT NULL,
     delivered     INTEGER NOT NULL DEFAULT 0
   );`,
  `CREATE TABLE revoked_users (
     user_id      TEXT PRIMARY KEY,
     organization TEXT NOT NULL,
     revoked_by   TEXT NOT NULL,
     reason       TEXT NOT NULL,
     revoked_at   INTEGER NOT NULL
   );
   CREATE TABLE lost_access (
     doc_id  TEXT NOT NULL,
     user_id TEXT NOT NULL,
     reason  TEXT NOT NULL,
     heads   TEXT NOT NULL,
     at      INTEGER NOT NULL,
     PRIMARY KEY (doc_id, user_id)
   );`,
  `CREATE TABLE document_heads (
     doc_id TEXT PRIMARY KEY,
     hash   TEXT NOT NULL,
     heads  TEXT NOT NULL
   );`,
  // Order and ticket numbers are per organization: unique within one, not across all (two
  // organizations both have SO-000001). SQLite cannot drop a column's UNIQUE: rebuild the tables.
  `CREATE TABLE order_numbers_v5 (
     order_id     TEXT PRIMARY KEY,
     organization TEXT NOT NULL,
     order_number TEXT NOT NULL,
     UNIQUE (organization, order_number)
   );
   INSERT INTO order_numbers_v5 (order_id, organization, order_number)
     SELECT order_id, organization, order_number FROM order_numbers;
   DROP TABLE order_numbers;
   ALTER TABLE order_numbers_v5 RENAME TO order_numbers;
   CREATE TABLE assistance_tickets_v5 (
     doc_id        TEXT PRIMARY KEY,
     organization  TEXT NOT NULL,
     owner         TEXT NOT NULL,
     ticket_number TEXT NOT NULL,
     received_at   INTEGER NOT NULL,
     delivered     INTEGER NOT NULL DEFAULT 0,
     UNIQUE (organization, ticket_number)
   );
   INSERT INTO assistance_tickets_v5 (doc_id, organization, owner, ticket_number, received_at, delivered)
     SELECT doc_id, organization, owner, ticket_number, received_at, delivered FROM assistance_tickets;
   DROP TABLE assistance_tickets;
   ALTER TABLE assistance_tickets_v5 RENAME TO assistance_tickets;`,
  // A user is (organization, user id): identity providers issue the same subject in two tenants.
  // Per-user documents, revocations and known members are keyed by both. A revocation the
  // operator made for a user the relay had never seen has no organization (''): it is kept for
  // every organization that user has documents in, else left without effect (docs/operations.md).
  `CREATE TABLE user_documents_by_org (
     organization TEXT NOT NULL,
     user_id      TEXT NOT NULL,
     kind         TEXT NOT NULL,
     doc_id       TEXT NOT NULL UNIQUE,
     PRIMARY KEY (organization, user_id, kind)
   );
   INSERT INTO user_documents_by_org (organization, user_id, kind, doc_id)
     SELECT organization, user_id, kind, doc_id FROM user_documents;
   DROP TABLE user_documents;
   ALTER TABLE user_documents_by_org RENAME TO user_documents;
   CREATE TABLE revoked_members (
     organization TEXT NOT NULL,
     user_id      TEXT NOT NULL,
     revoked_by   TEXT NOT NULL,
     reason       TEXT NOT NULL,
     revoked_at   INTEGER NOT NULL,
     PRIMARY KEY (organization, user_id)
   );
   INSERT OR IGNORE INTO revoked_members (organization, user_id, revoked_by, reason, revoked_at)
     SELECT organization, user_id, revoked_by, reason, revoked_at FROM revoked_users
     WHERE organization <> '';
   INSERT OR IGNORE INTO revoked_members (organization, user_id, revoked_by, reason, revoked_at)
     SELECT DISTINCT d.organization, r.user_id, r.revoked_by, r.reason, r.revoked_at
     FROM revoked_users r JOIN user_documents d ON d.user_id = r.user_id
     WHERE r.organization = '';
   DROP TABLE revoked_users;
   CREATE TABLE members (
     organization TEXT NOT NULL,
     user_id      TEXT NOT NULL,
     first_seen   INTEGER NOT NULL,
     PRIMARY KEY (organization, user_id)
   );
   INSERT OR IGNORE INTO members (organization, user_id, first_seen)
     SELECT organization, user_id, 0 FROM user_documents;
   INSERT OR IGNORE INTO members (organization, user_id, first_seen)
     SELECT organization, owner, 0 FROM documents WHERE owner IS NOT NULL;`,
  // The catalogue (src/relay/catalogue/): one row per quote, order and assistance request,
  // derived from the stored document; rebuilt by \`oms-relay catalogue rebuild\`.
  `CREATE TABLE catalogue (
     doc_id        TEXT PRIMARY KEY,
     kind          TEXT NOT NULL,
     organization  TEXT NOT NULL,
     owner         TEXT NOT NULL,
     customer      TEXT NOT NULL,
     customer_key  TEXT NOT NULL,
     project       TEXT NOT NULL,
     currency      TEXT,
     total_minor   INTEGER,
     total_key     INTEGER NOT NULL,
     line_count    INTEGER NOT NULL,
     created_at    INTEGER NOT NULL,
     updated_at    INTEGER NOT NULL,
     request_count INTEGER NOT NULL,
     state         TEXT,
     order_number  TEXT,
     revision      INTEGER,
     search        TEXT NOT NULL,
     heads         TEXT NOT NULL
   );
   CREATE INDEX catalogue_by_updated ON catalogue(organization, kind, updated_at, doc_id);
   CREATE INDEX catalogue_by_created ON catalogue(organization, kind, created_at, doc_id);
   CREATE INDEX catalogue_by_customer ON catalogue(organization, kind, customer_key, doc_id);
   CREATE INDEX catalogue_by_total ON catalogue(organization, kind, total_key, doc_id);
   CREATE INDEX catalogue_by_owner ON catalogue(organization, kind, owner, updated_at, doc_id);
   CREATE TABLE catalogue_pending (
     doc_id TEXT PRIMARY KEY
   );
   CREATE VIRTUAL TABLE catalogue_search USING fts5(
     search, content = 'catalogue', content_rowid = 'rowid', tokenize = 'trigram'
   );
   CREATE TRIGGER catalogue_search_insert AFTER INSERT ON catalogue BEGIN
     INSERT INTO catalogue_search (rowid, search) VALUES (new.rowid, new.search);
   END;
   CREATE TRIGGER catalogue_search_delete AFTER DELETE ON catalogue BEGIN
     INSERT INTO catalogue_search (catalogue_search, rowid, search)
       VALUES ('delete', old.rowid, old.search);
   END;
   CREATE TRIGGER catalogue_search_update AFTER UPDATE OF search ON catalogue
     WHEN old.search IS NOT new.search BEGIN
     INSERT INTO catalogue_search (catalogue_search, rowid, search)
       VALUES ('delete', old.rowid, old.search);
     INSERT INTO catalogue_search (rowid, search) VALUES (new.rowid, new.search);
   END;`,
  // The sequence value behind each number, sealed into the ledger entry (relay restore).
  `ALTER TABLE order_numbers ADD COLUMN n INTEGER;
   ALTER TABLE assistance_tickets ADD COLUMN n INTEGER;`,
  // Claims on work (src/relay/store/): a lease per row, so two processes never do it at once.
  `CREATE TABLE work_claims (
     kind  TEXT NOT NULL,
     id    TEXT NOT NULL,
     node  TEXT NOT NULL,
     until INTEGER NOT NULL,
     PRIMARY KEY (kind, id)
   );`,
];

/**
 * Opens (creating if needed) the database at `file` (":memory:" for tests), in WAL mode so that
 * readers never block the writer and a killed process leaves the last committed transaction.
 * `upToVersion` stops the migrations early: tests build an older database with it.
 */
export function openDatabase(file: string, upToVersion = migrations.length): RelayDatabase {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  // NORMAL is durable against a crash of the process; FULL also against power loss (slower).
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  const version = db.pragma("user_version", { simple: true }) as number;
  for (let i = version; i < Math.min(upToVersion, migrations.length); i++) {
    db.transaction(() => {
      db.exec(migrations[i] as string);
      db.pragma(`user_version = ${i + 1}`);
    })();
  }
  return db;
}
