import type {
  CatalogueEntry,
  CatalogueKind,
  CatalogueSort,
  OrderState,
} from "../../docs/catalogue.js";
import type { OrganizationId, UserId } from "../../docs/ids.js";
import type { AccessPolicy } from "../../policy/access.js";
import type { Principal } from "../../policy/principal.js";
import type { ReadFilter } from "../../policy/read-filter.js";
import type { RelayDatabase } from "../database.js";

/** Where the previous page ended: the sort value and id of its last row. */
export interface CatalogueCursor {
  kind: CatalogueKind;
  sort: CatalogueSort;
  order: "asc" | "desc";
  value: number | string;
  id: string;
}

export interface CatalogueQuery {
  kind: CatalogueKind;
  q?: string;
  owner?: string;
  state?: OrderState;
  sort: CatalogueSort;
  order: "asc" | "desc";
  limit: number;
  after?: CatalogueCursor;
}

interface SqlRow {
  doc_id: string;
  kind: CatalogueKind;
  organization: string;
  owner: string;
  customer: string;
  project: string;
  currency: string | null;
  total_minor: number | null;
  line_count: number;
  created_at: number;
  updated_at: number;
  state: OrderState | null;
  order_number: string | null;
  revision: number | null;
  sort_value: number | string;
}

const sortColumns: Record<CatalogueSort, string> = {
  updated: "updated_at",
  created: "created_at",
  customer: "customer_key",
  total: "total_key",
};

/** Up to this many trigram matches, a text search starts from them. */
const fewMatchesLimit = 2_000;

function fewMatches(db: RelayDatabase, q: string): boolean {
  const row = db
    .prepare<[string, number], { n: number }>(
      "SELECT count(*) AS n FROM (SELECT 1 FROM catalogue_search WHERE search LIKE ? LIMIT ?)",
    )
    .get(`%${q.toLowerCase()}%`, fewMatchesLimit + 1);
  return (row?.n ?? 0) <= fewMatchesLimit;
}

/** Rows a policy without a query form is checked against per round. */
const fallbackBatch = 500;

/** `LIKE` pattern matching `text` anywhere, its wildcards taken literally. */
export function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The SQL condition (and its arguments) of a read filter; undefined when it admits nothing. */
export function compileFilter(filter: ReadFilter): { sql: string; args: string[] } | undefined {
  if (filter === "all") return { sql: "1", args: [] };
  if (filter === "none") return undefined;
  const parts: string[] = [];
  const args: string[] = [];
  for (const clause of filter) {
    if (clause.owners === undefined) {
      parts.push("organization = ?");
      args.push(clause.organization);
    } else if (clause.owners.length > 0) {
      parts.push(`(organization = ? AND owner IN (${clause.owners.map(() => "?").join(", ")}))`);
      args.push(clause.organization, ...clause.owners);
    }
  }
  return parts.length === 0 ? undefined : { sql: `(${parts.join(" OR ")})`, args };
}

/**
 * One page of the catalogue rows `principal` may read. Access is part of the query when the
 * policy gives a query form (`readFilter`); otherwise candidate rows are read in batches and each
 * is checked with `canRead`, which is correct but reads every row the page passes over.
 */
export function searchCatalogue(
  db: RelayDatabase,
  policy: AccessPolicy,
  principal: Principal,
  query: CatalogueQuery,
): { entries: CatalogueEntry[]; more: boolean; last?: CatalogueCursor } {
  const column = sortColumns[query.sort];
  const dir = query.order === "asc" ? "ASC" : "DESC";
  const where = ["kind = ?"];
  const args: (string | number)[] = [query.kind];
  const filter = policy.readFilter?.(principal, query.kind);
  if (filter !== undefined) {
    const access = compileFilter(filter);
    if (!access) return { entries: [], more: false };
    where.push(access.sql);
    args.push(...access.args);
  }
  let from = "catalogue c";
  if (query.q) {
    where.push("c.search LIKE ? ESCAPE '\\'");
    args.push(containsPattern(query.q));
    // A rare text: start from its few matches in the trigram index rather than walking the
    // organization's rows in sort order (which would read them all to fill a page).
    if (/^[^%_\\]{3,}$/.test(query.q) && fewMatches(db, query.q)) {
      from = "catalogue_search s CROSS JOIN catalogue c ON c.rowid = s.rowid";
      where.push("s.search LIKE ?");
      args.push(`%${query.q.toLowerCase()}%`);
    }
  }
  if (query.owner !== undefined) {
    where.push("owner = ?");
    args.push(query.owner);
  }
  if (query.state !== undefined) {
    where.push("state = ?");
    args.push(query.state);
  }
  const select = (after: CatalogueCursor | undefined, limit: number): SqlRow[] => {
    const conditions = [...where];
    const all = [...args];
    if (after) {
      conditions.push(`(${column}, doc_id) ${dir === "ASC" ? ">" : "<"} (?, ?)`);
      all.push(after.value, after.id);
    }
    return db
      .prepare<(string | number)[], SqlRow>(
        `SELECT doc_id, kind, organization, owner, customer, project, currency, total_minor,
           line_count, created_at, updated_at, state, order_number, revision,
           ${column} AS sort_value
         FROM ${from} WHERE ${conditions.join(" AND ")}
         ORDER BY ${column} ${dir}, doc_id ${dir} LIMIT ?`,
      )
      .all(...all, limit);
  };
  const cursorOf = (row: SqlRow): CatalogueCursor => ({
    kind: query.kind,
    sort: query.sort,
    order: query.order,
    value: row.sort_value,
    id: row.doc_id,
  });

  let rows: SqlRow[];
  if (filter !== undefined) {
    rows = select(query.after, query.limit + 1);
  } else {
    rows = [];
    let after = query.after;
    for (;;) {
      const batch = select(after, fallbackBatch);
      for (const row of batch) {
        const meta = {
          kind: row.kind,
          organization: row.organization as OrganizationId,
          owner: row.owner as UserId,
        };
        if (policy.canRead(principal, meta)) rows.push(row);
        if (rows.length > query.limit) break;
      }
      const tail = batch.at(-1);
      if (rows.length > query.limit || batch.length < fallbackBatch || !tail) break;
      after = cursorOf(tail);
    }
  }
  const more = rows.length > query.limit;
  const page = rows.slice(0, query.limit);
  const tail = page.at(-1);
  return {
    entries: page.map(toEntry),
    more,
    ...(more && tail ? { last: cursorOf(tail) } : {}),
  };
}

function toEntry(r: SqlRow): CatalogueEntry {
  return {
    id: r.doc_id,
    kind: r.kind,
    organization: r.organization,
    owner: r.owner,
    customer: r.customer,
    project: r.project,
    currency: r.currency,
    total: r.total_minor,
    lines: r.line_count,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    state: r.state,
    orderNumber: r.order_number,
    revision: r.revision,
  };
}
