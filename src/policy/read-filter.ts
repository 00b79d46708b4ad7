import type { CatalogueKind } from "../docs/catalogue.js";
import type { OrganizationId, UserId } from "../docs/ids.js";
import { hasRole, type Principal, roles } from "./principal.js";

export type { CatalogueKind } from "../docs/catalogue.js";

/** Documents of one organization: all of them, or only those of the named owners. */
export interface ReadClause {
  readonly organization: OrganizationId;
  /** Absent: any owner in the organization. Empty: nobody. */
  readonly owners?: readonly UserId[];
}

/**
 * The query form of `canRead` for one kind: which documents a principal may read, in a shape the
 * relay compiles to SQL. "all" and "none" are what they say; a list of clauses is their union.
 */
export type ReadFilter = "all" | "none" | readonly ReadClause[];

/**
 * The default policy's read rule as a filter: managers read their organization's documents,
 * everyone else their own.
 */
export function defaultReadFilter(principal: Principal, _kind: CatalogueKind): ReadFilter {
  if (hasRole(principal, roles.manager)) return [{ organization: principal.organization }];
  return [{ organization: principal.organization, owners: [principal.userId] }];
}

/** Does `filter` admit a document of this organization and owner? (The filter read in memory.) */
export function filterAdmits(
  filter: ReadFilter,
  meta: { organization: string; owner?: string | undefined },
): boolean {
  if (filter === "all") return true;
  if (filter === "none") return false;
  return filter.some(
    (c) =>
      c.organization === meta.organization &&
      (c.owners === undefined ||
        (meta.owner !== undefined && c.owners.includes(meta.owner as UserId))),
  );
}
