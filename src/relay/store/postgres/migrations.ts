import type pg from "pg";
import { type PgDatabase, quoteIdent } from "./database.js";

/**
 * The PostgreSQL schema, one migration per entry, applied in order at start (each in its own
 * transaction, recorded in `schema_migrations`). Append new ones at the end only.
 */
export const pgMigrations: readonly string[] = [
  `CREATE TABLE chunks (
     key    text[] PRIMARY KEY,
     doc_id text NOT NULL,
     seq    bigserial NOT NULL,
     data   bytea NOT NULL
   );
   CREATE INDEX chunks_by_document ON chunks (doc_id, seq);
   CREATE TABLE documents (
     doc_id       text PRIMARY KEY,
     kind         text NOT NULL,
     owner        text,
     organization text NOT NULL,
     created_at   bigint NOT NULL,
     seq          bigserial NOT NULL
   );
   CREATE INDEX documents_by_kind ON documents (kind, seq);
   CREATE TABLE user_documents (
     organization text NOT NULL,
     user_id      text NOT NULL,
     kind         text NOT NULL,
     doc_id       text NOT NULL UNIQUE,
     PRIMARY KEY (organization, user_id, kind)
   );
   CREATE TABLE organization_documents (
     organization text PRIMARY KEY,
     doc_id       text NOT NULL UNIQUE
   );
   CREATE TABLE members (
     organization text NOT NULL,
     user_id      text NOT NULL,
     first_seen   bigint NOT NULL,
     PRIMARY KEY (organization, user_id)
   );
   CREATE TABLE document_heads (
     doc_id text PRIMARY KEY,
     hash   text NOT NULL,
     heads  text NOT NULL
   );
   CREATE TABLE revoked_members (
     organization text NOT NULL,
     user_id      text NOT NULL,
     revoked_by   text NOT NULL,
     reason       text NOT NULL,
     revoked_at   bigint NOT NULL,
     PRIMARY KEY (organization, user_id)
   );
   CREATE TABLE lost_access (
     doc_id  text NOT NULL,
     user_id text NOT NULL,
     reason  text NOT NULL,
     heads   text NOT NULL,
     at      bigint NOT NULL,
     PRIMARY KEY (doc_id, user_id)
   );
   CREATE TABLE sequences (
     name  text PRIMARY KEY,
     value bigint NOT NULL
   );
   CREATE TABLE submission_requests (
     request_id  text PRIMARY KEY,
     order_id    text NOT NULL,
     received_at bigint NOT NULL,
     seq         bigserial NOT NULL
   );
   CREATE TABLE submission_outcomes (
     request_id   text PRIMARY KEY,
     order_id     text NOT NULL,
     organization text NOT NULL,
     owner        text NOT NULL,
     requested_by text NOT NULL,
     status       text NOT NULL CHECK (status IN ('accepted', 'duplicate', 'rejected')),
     revision     integer,
     order_number text,
     heads        text,
     duplicate_of text,
     code         text,
     reason       text,
     processed_at bigint NOT NULL,
     delivered    boolean NOT NULL DEFAULT false,
     seq          bigserial NOT NULL
   );
   CREATE INDEX submission_outcomes_by_order ON submission_outcomes (order_id, revision);
   CREATE INDEX submission_outcomes_undelivered ON submission_outcomes (processed_at, seq)
     WHERE NOT delivered;
   CREATE TABLE order_numbers (
     order_id     text PRIMARY KEY,
     organization text NOT NULL,
     order_number text NOT NULL,
     n            bigint,
     UNIQUE (organization, order_number)
   );
   CREATE TABLE assistance_tickets (
     doc_id        text PRIMARY KEY,
     organization  text NOT NULL,
     owner         text NOT NULL,
     ticket_number text NOT NULL,
     received_at   bigint NOT NULL,
     n             bigint,
     delivered     boolean NOT NULL DEFAULT false,
     seq           bigserial NOT NULL,
     UNIQUE (organization, ticket_number)
   );
   CREATE TABLE work_claims (
     kind  text NOT NULL,
     id    text NOT NULL,
     node  text NOT NULL,
     until bigint NOT NULL,
     PRIMARY KEY (kind, id)
   );`,
  // The catalogue (src/relay/catalogue/, PgCatalogueStore). Text columns that sort or break ties
  // compare bytes (COLLATE "C"), as SQLite does; `search` is matched with LIKE through a
  // pg_trgm GIN index. The extension lives in public so that dropping a node's schema never
  // drops it from under another. Submission columns are kept by a trigger on outcomes, in the
  // transaction that commits the outcome, whichever node decides it.
  `CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
   CREATE TABLE catalogue (
     doc_id        text COLLATE "C" PRIMARY KEY,
     kind          text NOT NULL,
     organization  text NOT NULL,
     owner         text NOT NULL,
     customer      text NOT NULL,
     customer_key  text COLLATE "C" NOT NULL,
     project       text NOT NULL,
     currency      text,
     total_minor   bigint,
     total_key     bigint NOT NULL,
     line_count    integer NOT NULL,
     created_at    bigint NOT NULL,
     updated_at    bigint NOT NULL,
     request_count integer NOT NULL,
     state         text,
     order_number  text,
     revision      integer,
     search_base   text NOT NULL,
     search        text GENERATED ALWAYS AS (search_base || lower(coalesce(order_number, ''))) STORED,
     heads         text NOT NULL,
     seq           bigserial NOT NULL
   );
   CREATE INDEX catalogue_by_updated ON catalogue (organization, kind, updated_at, doc_id);
   CREATE INDEX catalogue_by_created ON catalogue (organization, kind, created_at, doc_id);
   CREATE INDEX catalogue_by_customer ON catalogue (organization, kind, customer_key, doc_id);
   CREATE INDEX catalogue_by_total ON catalogue (organization, kind, total_key, doc_id);
   CREATE INDEX catalogue_by_owner ON catalogue (organization, kind, owner, updated_at, doc_id);
   CREATE INDEX catalogue_search_trgm ON catalogue USING gin (search public.gin_trgm_ops);
   CREATE TABLE catalogue_pending (
     doc_id text PRIMARY KEY
   );
   -- The rule of submissionColumns (src/relay/catalogue/catalogue.ts), read from the tables.
   CREATE FUNCTION catalogue_refresh_submission(p_order text) RETURNS void
   LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
   DECLARE
     n_requests integer;
     n_outcomes integer;
     acc_revision integer;
     acc_number text;
     has_accepted boolean;
     latest text;
   BEGIN
     SELECT request_count INTO n_requests FROM catalogue WHERE doc_id = p_order AND kind = 'order';
     IF NOT FOUND THEN RETURN; END IF;
     SELECT count(*) INTO n_outcomes FROM submission_outcomes WHERE order_id = p_order;
     SELECT revision, order_number INTO acc_revision, acc_number FROM submission_outcomes
       WHERE order_id = p_order AND status = 'accepted'
       ORDER BY coalesce(revision, 0) DESC, processed_at, seq LIMIT 1;
     has_accepted := FOUND;
     SELECT status INTO latest FROM submission_outcomes
       WHERE order_id = p_order AND status <> 'duplicate'
       ORDER BY processed_at DESC, seq DESC LIMIT 1;
     UPDATE catalogue SET
       state = CASE
         WHEN n_requests > n_outcomes THEN 'pending'
         WHEN latest = 'rejected' THEN 'rejected'
         WHEN has_accepted THEN 'submitted'
         ELSE 'draft' END,
       order_number = acc_number,
       revision = acc_revision
     WHERE doc_id = p_order;
   END $$;
   CREATE FUNCTION catalogue_on_outcome() RETURNS trigger
   LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
   BEGIN
     PERFORM catalogue_refresh_submission(NEW.order_id);
     RETURN NULL;
   END $$;
   CREATE TRIGGER catalogue_outcome AFTER INSERT OR UPDATE ON submission_outcomes
     FOR EACH ROW EXECUTE FUNCTION catalogue_on_outcome();`,
];

/** Any constant: the advisory lock every relay node takes while it migrates. */
const MIGRATION_LOCK = 0x6f6d_7331;

/**
 * How long the migration's statements may run (and a node wait for another's migration): far
 * beyond the pool's query timeout, which is for a node's everyday queries. Building an index on
 * a large table, or waiting for the node that builds it, takes minutes.
 */
const MIGRATION_QUERY_TIMEOUT_MS = 6 * 3_600_000;

/**
 * Applies the migrations not applied yet. Safe when several nodes start at once: they take
 * turns under an advisory lock, and each finds what the one before it applied.
 */
export async function migrate(
  db: PgDatabase,
  options: { schema?: string; upToVersion?: number } = {},
): Promise<number> {
  const upToVersion = options.upToVersion ?? pgMigrations.length;
  const pooled = await db.pool.connect();
  const client = {
    query: <R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]) =>
      // `query_timeout` per query is node-postgres's own option (missing from its types).
      pooled.query<R>({
        text,
        ...(values ? { values } : {}),
        query_timeout: MIGRATION_QUERY_TIMEOUT_MS,
      } as pg.QueryConfig),
  };
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    try {
      if (options.schema)
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(options.schema)}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version    integer PRIMARY KEY,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const applied = new Set(
        (await client.query<{ version: number }>("SELECT version FROM schema_migrations")).rows.map(
          (r) => r.version,
        ),
      );
      let ran = 0;
      for (let i = 0; i < Math.min(upToVersion, pgMigrations.length); i++) {
        if (applied.has(i + 1)) continue;
        await client.query("BEGIN");
        try {
          await client.query(pgMigrations[i] as string);
          await client.query("INSERT INTO schema_migrations (version) VALUES ($1)", [i + 1]);
          await client.query("COMMIT");
          ran++;
        } catch (err) {
          await client.query("ROLLBACK").catch(() => undefined);
          throw err;
        }
      }
      return ran;
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
    }
  } finally {
    pooled.release();
  }
}
