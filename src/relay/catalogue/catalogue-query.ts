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
import type { CatalogueRowOutput, CatalogueSearch, CatalogueStore } from "../store/types.js";

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

export { coveringTrigrams } from "../store/sqlite/catalogue-store.js";

/** Rows a policy without a query form is checked against per round. */
const fallbackBatch = 500;

/** The access clauses of a read filter; undefined for "all", [] when it admits nothing. */
export function accessClauses(filter: ReadFilter): CatalogueSearch["access"] {
  if (filter === "all") return undefined;
  if (filter === "none") return [];
  return filter;
}

/**
 * One page of the catalogue rows `principal` may read. Access is part of the query when the
 * policy gives a query form (`readFilter`); otherwise candidate rows are read in batches and each
 * is checked with `canRead`, which is correct but reads every row the page passes over.
 */
export async function searchCatalogue(
  store: CatalogueStore,
  policy: AccessPolicy,
  principal: Principal,
  query: CatalogueQuery,
): Promise<{ entries: CatalogueEntry[]; more: boolean; last?: CatalogueCursor }> {
  const filter = policy.readFilter?.(principal, query.kind);
  const access = filter === undefined ? undefined : accessClauses(filter);
  if (access?.length === 0) return { entries: [], more: false };
  const select = (after: CatalogueCursor | undefined, limit: number) =>
    store.search({
      kind: query.kind,
      sort: query.sort,
      order: query.order,
      limit,
      ...(query.q ? { q: query.q } : {}),
      ...(query.owner !== undefined ? { owner: query.owner } : {}),
      ...(query.state !== undefined ? { state: query.state } : {}),
      ...(after ? { after: { value: after.value, id: after.id } } : {}),
      ...(access ? { access } : {}),
    });
  const cursorOf = (row: CatalogueRowOutput): CatalogueCursor => ({
    kind: query.kind,
    sort: query.sort,
    order: query.order,
    value: row.sortValue,
    id: row.documentId,
  });

  let rows: CatalogueRowOutput[];
  if (filter !== undefined) {
    rows = await select(query.after, query.limit + 1);
  } else {
    rows = [];
    let after = query.after;
    for (;;) {
      const batch = await select(after, fallbackBatch);
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

function toEntry(r: CatalogueRowOutput): CatalogueEntry {
  const { documentId, totalMinor, lineCount, sortValue: _, ...same } = r;
  return { id: documentId, total: totalMinor, lines: lineCount, ...same };
}
