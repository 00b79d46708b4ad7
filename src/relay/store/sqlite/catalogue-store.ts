import type { SqliteStorageAdapter } from "../../../adapters/storage-sqlite.js";
import type { RelayDatabase } from "../../database.js";
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

/** The sequence that remembers the last submission outcome the catalogue has applied. */
const OUTCOMES_SEEN = "catalogue:outcomes";

/** An outcome as the submission columns read it. */
export interface CatalogueOutcomeRow {
  status: "accepted" | "duplicate" | "rejected";
  revision: number | null;
  order_number: string | null;
}

/** Where an order stands for the catalogue, from its requests and the relay's outcomes. */
export interface SubmissionColumns {
  state: "draft" | "pending" | "submitted" | "rejected";
  orderNumber: string | null;
  revision: number | null;
}

/**
 * The same rule as `submissionState` (src/policy/submission-state.ts), read from the relay's
 * tables instead of a ledger: pending while a request has no outcome, otherwise the latest
 * outcome that is not a duplicate decides. (PostgreSQL: `catalogue_refresh_submission`.)
 */
export function submissionColumns(
  requests: number,
  outcomes: CatalogueOutcomeRow[],
): SubmissionColumns {
  let last: CatalogueOutcomeRow | undefined;
  for (const o of outcomes) {
    if (o.status === "accepted" && (!last || (o.revision ?? 0) > (last.revision ?? 0))) last = o;
  }
  const numbered = { orderNumber: last?.order_number ?? null, revision: last?.revision ?? null };
  if (requests > outcomes.length) return { state: "pending", ...numbered };
  const latest = outcomes.filter((o) => o.status !== "duplicate").at(-1);
  if (latest?.status === "rejected") return { state: "rejected", ...numbered };
  return { state: last ? "submitted" : "draft", ...numbered };
}

/** Up to this many trigram candidates, a text search starts from them. */
const fewMatchesLimit = 2_000;

/**
 * The trigrams of `q` that cover it without overlapping (the last one may overlap), in
 * characters rather than UTF-16 units, each quoted for an FTS5 query.
 */
export function coveringTrigrams(q: string): string[] {
  const chars = Array.from(q.toLowerCase());
  const starts: number[] = [];
  for (let i = 0; i + 3 <= chars.length; i += 3) starts.push(i);
  if (chars.length >= 3 && (chars.length - 3) % 3 !== 0) starts.push(chars.length - 3);
  const quoted = (gram: string) => `"${gram.replaceAll('"', '""')}"`;
  const grams = starts.map((i) => quoted(chars.slice(i, i + 3).join("")));
  return [...new Set(grams)];
}

/**
 * The catalogue on SQLite: the relay's one process writes it synchronously (the `…Now` methods,
 * which `Catalogue` calls inside its own transactions); the `CatalogueStore` methods wrap them.
 * Text search reads the FTS5 trigram index first when the text is rare (see `#fewCandidates`).
 */
export class SqliteCatalogueStore implements CatalogueStore {
  readonly #db: RelayDatabase;
  readonly #storage: SqliteStorageAdapter;
  readonly #markPending;
  readonly #clearPending;
  readonly #storedHeads;
  readonly #upsert;
  readonly #outcomesOf;
  readonly #newOutcomes;
  readonly #setSubmission;
  readonly #seen;
  readonly #setSeen;
  readonly #current;
  #outcomesSeen: number;

  constructor(db: RelayDatabase, storage: SqliteStorageAdapter) {
    this.#db = db;
    this.#storage = storage;
    this.#markPending = db.prepare("INSERT OR IGNORE INTO catalogue_pending (doc_id) VALUES (?)");
    this.#clearPending = db.prepare("DELETE FROM catalogue_pending WHERE doc_id = ?");
    this.#storedHeads = db.prepare<[string], { heads: string }>(
      "SELECT heads FROM catalogue WHERE doc_id = ?",
    );
    this.#upsert = db.prepare(
      `INSERT INTO catalogue (doc_id, kind, organization, owner, customer, customer_key, project,
         currency, total_minor, total_key, line_count, created_at, updated_at, request_count,
         search, heads)
       VALUES (@id, @kind, @organization, @owner, @customer, @customerKey, @project, @currency,
         @totalMinor, @totalKey, @lineCount, @createdAt, @updatedAt, @requestCount, @search, @heads)
       ON CONFLICT(doc_id) DO UPDATE SET kind = excluded.kind, organization = excluded.organization,
         owner = excluded.owner, customer = excluded.customer, customer_key = excluded.customer_key,
         project = excluded.project, currency = excluded.currency,
         total_minor = excluded.total_minor, total_key = excluded.total_key,
         line_count = excluded.line_count, created_at = excluded.created_at,
         updated_at = excluded.updated_at, request_count = excluded.request_count,
         search = excluded.search, heads = excluded.heads`,
    );
    this.#outcomesOf = db.prepare<[string], CatalogueOutcomeRow>(
      "SELECT status, revision, order_number FROM submission_outcomes WHERE order_id = ? ORDER BY processed_at, rowid",
    );
    this.#newOutcomes = db.prepare<[number], { order_id: string; seen: number }>(
      "SELECT order_id, max(rowid) AS seen FROM submission_outcomes WHERE rowid > ? GROUP BY order_id",
    );
    this.#setSubmission = db.prepare(
      `UPDATE catalogue SET state = @state, order_number = @orderNumber, revision = @revision,
         search = @search WHERE doc_id = @id`,
    );
    this.#seen = db.prepare<[string], { value: number }>(
      "SELECT value FROM sequences WHERE name = ?",
    );
    this.#setSeen = db.prepare(
      "INSERT INTO sequences (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
    );
    this.#current = db.prepare<
      [string],
      { customer: string; project: string; request_count: number }
    >("SELECT customer, project, request_count FROM catalogue WHERE doc_id = ?");
    this.#outcomesSeen = this.#seen.get(OUTCOMES_SEEN)?.value ?? 0;
  }

  rowHeadsNow(documentId: string): string | undefined {
    return this.#storedHeads.get(documentId)?.heads;
  }

  /** Upserts one row (orders: with their submission columns) inside the caller's transaction. */
  upsertNow(documentId: string, row: CatalogueRowInput): void {
    this.#upsert.run({
      id: documentId,
      ...row,
      ...rowKeys(row),
      search: searchBase(row.customer, row.project),
      heads: row.heads,
    });
    if (row.kind === "order") this.#refreshSubmission(documentId);
  }

  #refreshSubmission(orderId: string): void {
    const current = this.#current.get(orderId);
    if (!current) return;
    const s = submissionColumns(current.request_count, this.#outcomesOf.all(orderId));
    this.#setSubmission.run({
      id: orderId,
      ...s,
      search: `${searchBase(current.customer, current.project)}${(s.orderNumber ?? "").toLowerCase()}`,
    });
  }

  markPendingNow(documentId: string): void {
    this.#markPending.run(documentId);
  }

  clearPendingNow(documentId: string): void {
    this.#clearPending.run(documentId);
  }

  pendingNow(): string[] {
    return this.#db
      .prepare<[], string>("SELECT doc_id FROM catalogue_pending ORDER BY doc_id")
      .pluck()
      .all();
  }

  /** See `applyOutcomes`; one indexed lookup when there are none. */
  applyOutcomesNow(): void {
    const fresh = this.#newOutcomes.all(this.#outcomesSeen);
    if (fresh.length === 0) return;
    const seen = Math.max(...fresh.map((f) => f.seen));
    this.#db.transaction(() => {
      for (const { order_id } of fresh) this.#refreshSubmission(order_id);
      this.#setSeen.run(OUTCOMES_SEEN, seen);
    })();
    this.#outcomesSeen = seen;
  }

  /** Empties the catalogue inside the caller's transaction (the start of a rebuild). */
  clearAllNow(): void {
    this.#db.prepare("DELETE FROM catalogue").run();
  }

  /** Ends a rebuild inside its transaction: no marks, and every outcome so far applied. */
  rebuiltNow(): number {
    this.#db.prepare("DELETE FROM catalogue_pending").run();
    const seen =
      this.#db
        .prepare<[], { seen: number | null }>("SELECT max(rowid) AS seen FROM submission_outcomes")
        .get()?.seen ?? 0;
    this.#setSeen.run(OUTCOMES_SEEN, seen);
    return seen;
  }

  /** After a rebuild committed. */
  set outcomesSeen(seen: number) {
    this.#outcomesSeen = seen;
  }

  /**
   * Rowids of rows whose search text may contain `q` (every row that does, and some that only
   * hold its trigrams elsewhere), when there are at most `fewMatchesLimit` of them in every
   * organization; undefined for a common text, or one shorter than a trigram. Reads the trigram
   * index once, with only the trigrams that cover `q` (a phrase of all of them cost ten times
   * more); the page's query then checks the text itself.
   */
  #fewCandidates(q: string): number[] | undefined {
    const grams = coveringTrigrams(q);
    if (grams.length === 0) return undefined;
    const rowids = this.#db
      .prepare<[string, number], number>(
        "SELECT rowid FROM catalogue_search WHERE catalogue_search MATCH ? LIMIT ?",
      )
      .pluck()
      .all(grams.join(" AND "), fewMatchesLimit + 1);
    return rowids.length <= fewMatchesLimit ? rowids : undefined;
  }

  searchNow(query: CatalogueSearch): CatalogueRowOutput[] {
    const args: (string | number)[] = [];
    const built = searchConditions(query, (value) => {
      args.push(value);
      return "?";
    });
    if (!built) return [];
    if (query.q) {
      // A rare text: start from its few matches in the trigram index rather than walking the
      // organization's rows in sort order (which would read them all to fill a page).
      const candidates = this.#fewCandidates(query.q);
      if (candidates?.length === 0) return [];
      if (candidates) {
        built.where.push("rowid IN (SELECT value FROM json_each(?))");
        args.push(JSON.stringify(candidates));
      }
    }
    return this.#db
      .prepare<(string | number)[], CatalogueSqlRow>(pageSql(built, "?"))
      .all(...args, query.limit)
      .map((r) => catalogueRowOf(r, query.sort !== "customer"));
  }

  async rowHeads(documentId: string): Promise<string | undefined> {
    return this.rowHeadsNow(documentId);
  }

  async write(rows: readonly { documentId: string; row: CatalogueRowInput }[]): Promise<void> {
    this.#db.transaction(() => {
      for (const { documentId, row } of rows) {
        this.upsertNow(documentId, row);
        this.#clearPending.run(documentId);
      }
    })();
  }

  async saveChunkMarkingPending(
    documentId: string,
    key: string[],
    data: Uint8Array,
  ): Promise<void> {
    this.#db.transaction(() => {
      this.#markPending.run(documentId);
      // The adapter writes synchronously inside the call: mark and chunk share one commit.
      void this.#storage.save(key, data);
    })();
  }

  async pending(): Promise<string[]> {
    return this.pendingNow();
  }

  async clearPending(documentId: string): Promise<void> {
    this.clearPendingNow(documentId);
  }

  async applyOutcomes(): Promise<void> {
    this.applyOutcomesNow();
  }

  async replaceAll(rows: readonly { documentId: string; row: CatalogueRowInput }[]): Promise<void> {
    let seen = 0;
    this.#db.transaction(() => {
      this.clearAllNow();
      for (const { documentId, row } of rows) this.upsertNow(documentId, row);
      seen = this.rebuiltNow();
    })();
    this.#outcomesSeen = seen;
  }

  async search(query: CatalogueSearch): Promise<CatalogueRowOutput[]> {
    return this.searchNow(query);
  }

  async currentRows(documentIds: readonly string[]): Promise<Map<string, CatalogueRowInput>> {
    if (documentIds.length === 0) return new Map();
    return writtenRowsOf(
      this.#db
        .prepare<[string], WrittenSqlRow>(
          `SELECT ${writtenColumns} FROM catalogue
           WHERE doc_id IN (SELECT value FROM json_each(?))
             AND doc_id NOT IN (SELECT doc_id FROM catalogue_pending)`,
        )
        .all(JSON.stringify(documentIds)),
    );
  }
}
