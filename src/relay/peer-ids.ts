import { createHash } from "node:crypto";
import type { Principal } from "../policy/principal.js";

/** The relay's own peer id starts with this; no client may join with an id that does. */
export const RELAY_PEER_ID_PREFIX = "oms-relay-";

/**
 * True for a peer id a client may not claim: the relay's namespace. Messages from the relay's
 * peer id are trusted by clients (refusal notices), so nobody else may ever speak under one.
 */
export function isReservedPeerId(claimed: string): boolean {
  return claimed.startsWith(RELAY_PEER_ID_PREFIX);
}

// Organization and user ids cannot hold "/" today (principal.ts); escaping keeps the mapping
// one-to-one even if that rule is ever relaxed.
const escapeSlash = (id: string) => id.replace(/[%/]/g, (c) => encodeURIComponent(c));

/**
 * The peer id under which the relay's Repo knows a client: `org/user/claimed`. Peer ids are
 * per user, so one user cannot take, squat or speak under another's peer id, and what others
 * receive from a peer (ephemeral messages) names the authenticated user who sent it.
 *
 * @example
 * ```ts
 * namespacedPeerId({ organization: "acme", userId: "alice", … }, "oms-client-1"); // "acme/alice/oms-client-1"
 * ```
 */
export function namespacedPeerId(principal: Principal, claimed: string): string {
  return `${escapeSlash(principal.organization)}/${escapeSlash(principal.userId)}/${claimed}`;
}

/**
 * The storage id under which the relay keeps a client's sync state: a UUID derived from the
 * user and the storage id the client claimed, so that one user cannot read or overwrite the
 * relay's sync state for another user's device by claiming its storage id.
 */
export function namespacedStorageId(principal: Principal, claimed: string): string {
  const hex = createHash("sha256")
    .update(`${namespacedPeerId(principal, "")}${claimed}`)
    .digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
