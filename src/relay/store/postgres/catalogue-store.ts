import type pg from "pg";
import {
  type CatalogueSqlRow,
  catalogueRowOf,
  pageSql,
  rowKeys,
  searchBase,
  searchConditions,
  type WrittenSqlRow,
  writtenColumns,
  writtenRowsOf,
} from "../catalogue-sql.js";
import type {
  CatalogueRowInput,
  CatalogueRowOutput,
  CatalogueSearch,
  CatalogueStore,
} from "../types.js";
import type { PgDatabase } from "./database.js";

type RowWrite = { documentId: string; row: CatalogueRowInput };

/**
 * The catalogue on PostgreSQL, written by whichever node stores a document. Search is a LIKE on
 * the lowercase `search` column through a pg_trgm GIN index; pages are keyset pages in the sort
 * order with ties broken by id, as on SQLite. An order's submission columns are recomputed by a
 * trigger in the transaction that commits an outcome (migration 2), and by `write` under the
 * order's advisory lock (the one decisions take): a row written while another node decides sees
 * that decision, or the decision sees the row. So `applyOutcomes` has nothing to do here, and no
 * position in a sequence is trusted across nodes (sequence order is not commit order).
 */
export class PgCatalogueStore implements CatalogueStore {
  readonly #db: PgDatabase;
  readonly #closed: () => boolean;

  constructor(db: PgDatabase, closed: () => boolean = () => false) {
    this.#db = db;
    this.#closed = closed;
  }

  async rowHeads(documentId: string): Promise<string | undefined> {
    const { rows } = await this.#db.query<{ heads: string }>(
      "SELECT heads FROM catalogue WHERE doc_id = $1",
      [documentId],
    );
    return rows[0]?.heads;
  }

  async write(rows: readonly RowWrite[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#db.tx(async (c) => {
      for (const r of rows) await upsert(c, r);
    });
  }

  async saveChunkMarkingPending(
    documentId: string,
    key: string[],
    data: Uint8Array,
  ): Promise<void> {
    // As PgChunkStore.save: the Repo's debounced saves after close carry nothing new.
    if (this.#closed()) return;
    // One statement is one transaction, and one round trip (a chunk is saved on every edit).
    await this.#db.query(
      `WITH marked AS (
         INSERT INTO catalogue_pending (doc_id) VALUES ($2) ON CONFLICT DO NOTHING
       )
       INSERT INTO chunks (key, doc_id, data) VALUES ($1, $2, $3)
       ON CONFLICT (key) DO UPDATE SET data = excluded.data`,
      [key, documentId, Buffer.from(data.buffer, data.byteOffset, data.byteLength)],
    );
  }

  async pending(): Promise<string[]> {
    const { rows } = await this.#db.query<{ doc_id: string }>(
      "SELECT doc_id FROM catalogue_pending ORDER BY doc_id",
    );
    return rows.map((r) => r.doc_id);
  }

  async clearPending(documentId: string): Promise<void> {
    await this.#db.query("DELETE FROM catalogue_pending WHERE doc_id = $1", [documentId]);
  }

  async applyOutcomes(): Promise<void> {
    // Kept by the outcome trigger, in the outcome's own transaction.
  }

  async replaceAll(rows: readonly RowWrite[]): Promise<void> {
    await this.#db.tx(async (c) => {
      // Writers on other nodes wait for the rebuild rather than interleave with it.
      await c.query("LOCK TABLE catalogue IN EXCLUSIVE MODE");
      await c.query("DELETE FROM catalogue");
      for (const r of rows) await upsert(c, r);
      await c.query("DELETE FROM catalogue_pending");
    });
  }

  async search(query: CatalogueSearch): Promise<CatalogueRowOutput[]> {
    const args: (string | number)[] = [];
    const built = searchConditions(query, (value) => {
      args.push(value);
      return `$${args.length}`;
    });
    if (!built) return [];
    args.push(query.limit);
    const { rows } = await this.#db.query<CatalogueSqlRow>(pageSql(built, `$${args.length}`), args);
    return rows.map((r) => catalogueRowOf(r, query.sort !== "customer"));
  }

  async currentRows(documentIds: readonly string[]): Promise<Map<string, CatalogueRowInput>> {
    if (documentIds.length === 0) return new Map();
    const { rows } = await this.#db.query<WrittenSqlRow>(
      `SELECT ${writtenColumns} FROM catalogue c
       WHERE doc_id = ANY($1::text[])
         AND NOT EXISTS (SELECT 1 FROM catalogue_pending p WHERE p.doc_id = c.doc_id)`,
      [documentIds],
    );
    return writtenRowsOf(rows);
  }
}

async function upsert(c: pg.PoolClient, { documentId, row }: RowWrite): Promise<void> {
  if (row.kind === "order")
    await c.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`order:${documentId}`]);
  const { customerKey, totalKey } = rowKeys(row);
  await c.query(
    `INSERT INTO catalogue (doc_id, kind, organization, owner, customer, customer_key, project,
       currency, total_minor, total_key, line_count, created_at, updated_at, request_count,
       search_base, heads)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
     ON CONFLICT (doc_id) DO UPDATE SET kind = excluded.kind, organization = excluded.organization,
       owner = excluded.owner, customer = excluded.customer, customer_key = excluded.customer_key,
       project = excluded.project, currency = excluded.currency,
       total_minor = excluded.total_minor, total_key = excluded.total_key,
       line_count = excluded.line_count, created_at = excluded.created_at,
       updated_at = excluded.updated_at, request_count = excluded.request_count,
       search_base = excluded.search_base, heads = excluded.heads`,
    [
      documentId,
      row.kind,
      row.organization,
      row.owner,
      row.customer,
      customerKey,
      row.project,
      row.currency,
      row.totalMinor,
      totalKey,
      row.lineCount,
      row.createdAt,
      row.updatedAt,
      row.requestCount,
      searchBase(row.customer, row.project),
      row.heads,
    ],
  );
  if (row.kind === "order") await c.query("SELECT catalogue_refresh_submission($1)", [documentId]);
  await c.query("DELETE FROM catalogue_pending WHERE doc_id = $1", [documentId]);
}
