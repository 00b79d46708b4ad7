import type { DocumentMeta } from "../docs/kinds.js";
import { hasRole, type Principal, roles } from "./principal.js";
import { type CatalogueKind, defaultReadFilter, type ReadFilter } from "./read-filter.js";

/**
 * Who may read, write and create which documents. An embedding OMS can replace any rule with
 * `createAccessPolicy({ … })`; the client and the relay consult the same object.
 */
export interface AccessPolicy {
  canRead(principal: Principal, meta: DocumentMeta): boolean;
  canWrite(principal: Principal, meta: DocumentMeta): boolean;
  /** May this principal bring a new document with this meta into existence? */
  canCreate(principal: Principal, meta: DocumentMeta): boolean;
  /**
   * The query form of `canRead` for the catalogue (docs/policy.md): it must admit exactly the
   * documents `canRead` admits. Without it the relay filters candidate rows with `canRead` one
   * by one: correct, slower.
   */
  readFilter?(principal: Principal, kind: CatalogueKind): ReadFilter;
}

const isOwner = (p: Principal, m: DocumentMeta) => m.owner !== undefined && m.owner === p.userId;
const sameOrg = (p: Principal, m: DocumentMeta) => m.organization === p.organization;
const managesIt = (p: Principal, m: DocumentMeta) => sameOrg(p, m) && hasRole(p, roles.manager);

/**
 * The defaults of DESIGN.md: the owner, and managers of the owner's organization, read and write
 * quotes, orders and assistance requests; nothing crosses organizations; workspace, ledger and
 * inbox are their user's alone, ledger and inbox read-only; organization info is read by its
 * members and written by its admins.
 */
export const defaultAccessPolicy: AccessPolicy = {
  canRead(p, m) {
    switch (m.kind) {
      case "quote":
      case "order":
      case "assistance":
        return sameOrg(p, m) && (isOwner(p, m) || managesIt(p, m));
      case "workspace":
      case "ledger":
      case "inbox":
        return sameOrg(p, m) && isOwner(p, m);
      case "organization":
        return sameOrg(p, m);
    }
  },
  canWrite(p, m) {
    switch (m.kind) {
      case "quote":
      case "order":
      case "assistance":
        return sameOrg(p, m) && (isOwner(p, m) || managesIt(p, m));
      case "workspace":
        return sameOrg(p, m) && isOwner(p, m);
      case "ledger":
      case "inbox":
        return false;
      case "organization":
        return sameOrg(p, m) && hasRole(p, roles.admin);
    }
  },
  canCreate(p, m) {
    switch (m.kind) {
      case "quote":
      case "order":
      case "assistance":
      case "workspace":
        return sameOrg(p, m) && isOwner(p, m);
      case "ledger":
      case "inbox":
      case "organization":
        return false;
    }
  },
  readFilter: defaultReadFilter,
};

/**
 * The default policy with some rules replaced. A replaced `canRead` without its own `readFilter`
 * drops the default one: the default query form would no longer say the same as `canRead`.
 */
export function createAccessPolicy(overrides: Partial<AccessPolicy> = {}): AccessPolicy {
  const policy = { ...defaultAccessPolicy, ...overrides };
  if (overrides.canRead && !overrides.readFilter) delete policy.readFilter;
  return policy;
}
