import { OmsError } from "../docs/errors.js";
import type { OrganizationId, UserId } from "../docs/ids.js";

/** Who is acting: the claims a user's token carries, checked. */
export interface Principal {
  readonly userId: UserId;
  readonly organization: OrganizationId;
  readonly roles: readonly string[];
  /** Holds the Offline permission: keeps "My" documents on the device. */
  readonly offline: boolean;
}

/** Roles the default policy knows. An embedding OMS may use more. */
export const roles = { rep: "rep", manager: "manager", admin: "admin" } as const;

const ID = /^[A-Za-z0-9._@:-]{1,200}$/;
/**
 * Names that JavaScript objects already answer to: as keys of a plain object (an organization's
 * `members`, a map decoded from JSON) they reach or replace the prototype. Refused as ids.
 */
const RESERVED = new Set(["__proto__", "constructor", "prototype"]);
const isId = (v: unknown): v is string => typeof v === "string" && ID.test(v) && !RESERVED.has(v);

/**
 * Reads a principal from token claims (`sub`, `org`, `roles`, `offline`). Throws an OmsError
 * with code AUTH_REQUIRED naming the first claim that is missing or malformed.
 *
 * @example
 * ```ts
 * const principal = parsePrincipal({ sub: "alice", org: "acme", roles: ["rep"], offline: true });
 * ```
 */
export function parsePrincipal(claims: Record<string, unknown>): Principal {
  const bad = (claim: string, want: string): never => {
    throw new OmsError(
      "AUTH_REQUIRED",
      `the token's "${claim}" claim must be ${want}, got ${JSON.stringify(claims[claim])?.slice(0, 120) ?? "nothing"}; ask the identity provider for a token with it`,
    );
  };
  const { sub, org, offline } = claims;
  const claimedRoles = claims.roles;
  if (!isId(sub))
    bad(
      "sub",
      "a user id (1 to 200 of A-Z a-z 0-9 . _ @ : -, not __proto__, constructor or prototype)",
    );
  if (!isId(org))
    bad(
      "org",
      "an organization id (1 to 200 of A-Z a-z 0-9 . _ @ : -, not __proto__, constructor or prototype)",
    );
  if (
    !Array.isArray(claimedRoles) ||
    !claimedRoles.every((r) => typeof r === "string" && r.length > 0 && r.length <= 100)
  ) {
    bad("roles", "an array of role names");
  }
  if (offline !== undefined && typeof offline !== "boolean") bad("offline", "true or false");
  return {
    userId: sub as UserId,
    organization: org as OrganizationId,
    roles: [...new Set(claimedRoles as string[])],
    offline: offline === true,
  };
}

export function hasRole(principal: Principal, role: string): boolean {
  return principal.roles.includes(role);
}
