import type { CatalogueRowInput, CatalogueRowOutput, CatalogueSearch } from "./types.js";

/** The column each sort reads (the same on both engines). */
export const catalogueSortColumns = {
  updated: "updated_at",
  created: "created_at",
  customer: "customer_key",
  total: "total_key",
} as const;

/** `LIKE` pattern matching `text` anywhere, its wildcards taken literally (escape `\`). */
export function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The lowercase text `q` searches, without the order number (customer and project). */
export function searchBase(customer: string, project: string): string {
  return `${customer}\n${project}\n`.toLowerCase();
}

/** The derived columns of a row both engines store besides the row's own fields. */
export function rowKeys(row: CatalogueRowInput): { customerKey: string; totalKey: number } {
  return {
    customerKey: row.customer.toLowerCase(),
    totalKey: row.totalMinor ?? Number.MAX_SAFE_INTEGER,
  };
}

/**
 * The WHERE conditions and ORDER BY of a catalogue page, with `param(value)` answering the
 * engine's placeholder for a value; undefined when the access clauses admit nothing.
 */
export function searchConditions(
  query: CatalogueSearch,
  param: (value: string | number) => string,
): { where: string[]; orderBy: string; column: string } | undefined {
  const column = catalogueSortColumns[query.sort];
  const dir = query.order === "asc" ? "ASC" : "DESC";
  const where = [`kind = ${param(query.kind)}`];
  if (query.access) {
    const parts: string[] = [];
    for (const clause of query.access) {
      if (clause.owners === undefined) parts.push(`organization = ${param(clause.organization)}`);
      else if (clause.owners.length > 0)
        parts.push(
          `(organization = ${param(clause.organization)} AND owner IN (${clause.owners.map((o) => param(o)).join(", ")}))`,
        );
    }
    if (parts.length === 0) return undefined;
    where.push(`(${parts.join(" OR ")})`);
  }
  if (query.q) where.push(`search LIKE ${param(containsPattern(query.q))} ESCAPE '\\'`);
  if (query.owner !== undefined) where.push(`owner = ${param(query.owner)}`);
  if (query.state !== undefined) where.push(`state = ${param(query.state)}`);
  if (query.after) {
    const op = dir === "ASC" ? ">" : "<";
    where.push(`(${column}, doc_id) ${op} (${param(query.after.value)}, ${param(query.after.id)})`);
  }
  return { where, orderBy: `${column} ${dir}, doc_id ${dir}`, column };
}

/** The SELECT of one page, `limit` being the engine's placeholder for the page size. */
export function pageSql(
  built: { where: string[]; orderBy: string; column: string },
  limit: string,
) {
  return `SELECT ${catalogueSelectColumns}, ${built.column} AS sort_value FROM catalogue
    WHERE ${built.where.join(" AND ")} ORDER BY ${built.orderBy} LIMIT ${limit}`;
}

/** A catalogue row as both engines select it (`sort_value` is the sort column). */
export interface CatalogueSqlRow {
  doc_id: string;
  kind: CatalogueRowOutput["kind"];
  organization: string;
  owner: string;
  customer: string;
  project: string;
  currency: string | null;
  total_minor: number | string | null;
  line_count: number;
  created_at: number | string;
  updated_at: number | string;
  state: CatalogueRowOutput["state"];
  order_number: string | null;
  revision: number | null;
  sort_value: number | string;
}

export const catalogueSelectColumns = `doc_id, kind, organization, owner, customer, project,
  currency, total_minor, line_count, created_at, updated_at, state, order_number, revision`;

/** The derived columns both reads return (bigint columns come back as strings from PostgreSQL). */
function derivedColumnsOf(r: CatalogueSqlRow | WrittenSqlRow) {
  return {
    kind: r.kind,
    organization: r.organization,
    owner: r.owner,
    customer: r.customer,
    project: r.project,
    currency: r.currency,
    totalMinor: r.total_minor === null ? null : Number(r.total_minor),
    lineCount: r.line_count,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

/** Numbers come back as strings from PostgreSQL's bigint columns. */
export function catalogueRowOf(r: CatalogueSqlRow, numericSort: boolean): CatalogueRowOutput {
  return {
    documentId: r.doc_id,
    ...derivedColumnsOf(r),
    state: r.state,
    orderNumber: r.order_number,
    revision: r.revision,
    sortValue: numericSort ? Number(r.sort_value) : r.sort_value,
  };
}

/** The written columns of a row, as `currentRows` selects them on both engines. */
export const writtenColumns = `doc_id, kind, organization, owner, customer, project, currency,
  total_minor, line_count, created_at, updated_at, request_count, heads`;

/** A row's written columns as both engines select them. */
export type WrittenSqlRow = Omit<
  CatalogueSqlRow,
  "state" | "order_number" | "revision" | "sort_value"
> & { request_count: number; heads: string };

/** Rows keyed by document (numbers come back as strings from PostgreSQL's bigint columns). */
export function writtenRowsOf(rows: readonly WrittenSqlRow[]): Map<string, CatalogueRowInput> {
  const out = new Map<string, CatalogueRowInput>();
  for (const r of rows)
    out.set(r.doc_id, {
      ...derivedColumnsOf(r),
      requestCount: r.request_count,
      heads: r.heads,
    });
  return out;
}
