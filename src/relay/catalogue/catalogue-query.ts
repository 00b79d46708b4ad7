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
 * Rowids of rows whose search text may contain `q` (every row that does, and some that only
 * hold its trigrams elsewhere), when there are at most `fewMatchesLimit` of them in every
 * organization; undefined for a common text, or one shorter than a trigram. Reads the trigram
 * index once, with only the trigrams that cover `q` (a phrase of all of them cost ten times
 * more); the page's query then checks the text itself.
 */
function fewCandidates(db: RelayDatabase, q: string): number[] | undefined {
  const grams = coveringTrigrams(q);
  if (grams.length === 0) return undefined;
  const rowids = db
    .prepare<[string, number], number>(
      "SELECT rowid FROM catalogue_search WHERE catalogue_search MATCH ? LIMIT ?",
    )
    .pluck()
    .all(grams.join(" AND "), fewMatchesLimit + 1);
  return rowids.length <= fewMatchesLimit ? rowids : undefined;
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
  if (query.q) {
    where.push("search LIKE ? ESCAPE '\\'");
    args.push(containsPattern(query.q));
    // A rare text: start from its few matches in the trigram index rather than walking the
    // organization's rows in sort order (which would read them all to fill a page).
    const candidates = fewCandidates(db, query.q);
    if (candidates?.length === 0) return { entries: [], more: false };
    if (candidates) {
      where.push("rowid IN (SELECT value FROM json_each(?))");
      args.push(JSON.stringify(candidates));
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
         FROM catalogue WHERE ${conditions.join(" AND ")}
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
