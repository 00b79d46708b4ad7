import type { WriteRefusal } from "../policy/write-validation.js";

/** WebSocket close codes the relay uses. */
export const closeCodes = {
  /** The socket sent bytes that are not CBOR. */
  invalidPayload: 1007,
  /** The socket broke a protocol rule (a peer id of another user, a second join). */
  policyViolation: 1008,
  /** ws closes with this when a message exceeds `maxPayloadBytes`. */
  messageTooBig: 1009,
  /** The relay is shutting down. */
  goingAway: 1001,
  /**
   * This node cannot reach its store (PostgreSQL): it takes no changes it could not keep.
   * Clients reconnect, through the load balancer perhaps to another node (1013: try again later).
   */
  storeUnavailable: 1013,
  /** An admin revoked the user; reconnecting is refused with 403 until reinstated. */
  userRevoked: 4003,
  /** The socket exceeded a per-connection rate limit for too long. */
  rateLimited: 4029,
  /**
   * The token the socket was opened with expired: get a fresh token and reconnect (the oms-sync
   * client does this by itself when it has a `getToken` callback).
   */
  tokenExpired: 4401,
  /** The `join` offered no protocol version the relay speaks (it speaks "1"). */
  unsupportedProtocol: 4426,
} as const;

/** The automerge-repo WebSocket protocol version the relay speaks. */
export const PROTOCOL_VERSION = "1";

/** Why a message was dropped; the `reason` label of the refusal metric. */
export const refusalReasons = {
  badToken: "bad_token",
  expiredToken: "expired_token",
  invalidCbor: "invalid_cbor",
  malformedMessage: "malformed_message",
  unknownType: "unknown_type",
  peerIdTaken: "peer_id_taken",
  notJoined: "not_joined",
  invalidDocumentId: "invalid_document_id",
  noAccess: "no_access",
  malformedSync: "malformed_sync",
  writeRefused: "write_refused",
  badStorageId: "bad_storage_id",
  userRevoked: "user_revoked",
  accessRevoked: "access_revoked",
  rateLimited: "rate_limited",
  tooManyDocuments: "too_many_documents",
  reservedPeerId: "reserved_peer_id",
  unsupportedProtocol: "unsupported_protocol",
  /** A client's ephemeral message whose data is a refusal notice: only the relay sends those. */
  forgedNotice: "forged_notice",
} as const;

/** The type of the refusal notice, inside an ephemeral message's data. */
export const REFUSAL_NOTICE = "oms-sync/refusal";

/**
 * What the relay sends (as an ephemeral message for the document, CBOR in `data`) when it drops
 * a change set: the document, and the reasons from the policy.
 */
export interface RefusalNotice {
  type: typeof REFUSAL_NOTICE;
  documentId: string;
  reasons: readonly WriteRefusal[];
  /**
   * The relay's heads (Automerge hex) that the sender may know: for a write refused, the
   * document before the refused changes; for ACCESS_REVOKED, the document when access was lost.
   * Changes of the sender's copy that are not ancestors of these were not stored.
   */
  heads?: readonly string[];
}

export function isRefusalNotice(value: unknown): value is RefusalNotice {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { type?: unknown }).type === REFUSAL_NOTICE &&
    typeof (value as { documentId?: unknown }).documentId === "string" &&
    Array.isArray((value as { reasons?: unknown }).reasons)
  );
}
