import { isValidDocumentId } from "@automerge/automerge-repo/slim";

// Shapes of the messages a client may send, checked before anything reads a field. automerge-repo
// 2.5.6 crashes the process on some malformed ones (AUTOMERGE-FACTS.md); none gets past here.

export interface JoinMessage {
  type: "join";
  senderId: string;
  peerMetadata?: { storageId?: string; isEphemeral?: boolean };
  supportedProtocolVersions?: string[];
}
export interface LeaveMessage {
  type: "leave";
  senderId: string;
}
export interface DocMessage {
  type: "sync" | "request";
  senderId: string;
  targetId: string;
  documentId: string;
  data: Uint8Array;
}
export interface EphemeralMessage {
  type: "ephemeral";
  senderId: string;
  targetId: string;
  documentId: string;
  sessionId: string;
  count: number;
  data: Uint8Array;
}
export interface DocUnavailableMessage {
  type: "doc-unavailable";
  senderId: string;
  targetId: string;
  documentId: string;
}
export type InboundMessage =
  | JoinMessage
  | LeaveMessage
  | DocMessage
  | EphemeralMessage
  | DocUnavailableMessage;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_ID = 256;

const isId = (v: unknown): v is string =>
  typeof v === "string" && v.length > 0 && v.length <= MAX_ID;
const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
const isDocumentId = (v: unknown): v is string => isId(v) && isValidDocumentId(v);

export type ParseResult =
  | { ok: true; message: InboundMessage; sanitized?: boolean }
  | {
      ok: false;
      reason: "malformed_message" | "unknown_type" | "invalid_document_id" | "bad_storage_id";
      detail: string;
    };

/** Checks a decoded message's shape; a join comes back with its metadata sanitised. */
export function parseInboundMessage(value: unknown): ParseResult {
  if (
    typeof value !== "object" ||
    value === null ||
    Array.isArray(value) ||
    value instanceof Uint8Array
  ) {
    return { ok: false, reason: "malformed_message", detail: "a message must be a CBOR map" };
  }
  const m = value as Record<string, unknown>;
  if (typeof m.type !== "string")
    return { ok: false, reason: "malformed_message", detail: "type must be text" };
  if (!isId(m.senderId))
    return { ok: false, reason: "malformed_message", detail: "senderId must be an id" };
  switch (m.type) {
    case "join": {
      const versions = m.supportedProtocolVersions;
      if (
        versions !== undefined &&
        !(Array.isArray(versions) && versions.every((v) => typeof v === "string"))
      ) {
        return {
          ok: false,
          reason: "malformed_message",
          detail: "supportedProtocolVersions must be a list of text",
        };
      }
      const meta = m.peerMetadata;
      const clean: { storageId?: string; isEphemeral?: boolean } = {};
      let sanitized = false;
      if (typeof meta === "object" && meta !== null) {
        const { storageId, isEphemeral } = meta as Record<string, unknown>;
        if (typeof storageId === "string" && UUID.test(storageId))
          clean.storageId = storageId.toLowerCase();
        else if (storageId !== undefined) sanitized = true;
        if (typeof isEphemeral === "boolean") clean.isEphemeral = isEphemeral;
      }
      const message: JoinMessage = {
        type: "join",
        senderId: m.senderId,
        peerMetadata: clean,
        ...(versions !== undefined ? { supportedProtocolVersions: versions as string[] } : {}),
      };
      return { ok: true, message, sanitized };
    }
    case "leave":
      return { ok: true, message: { type: "leave", senderId: m.senderId } };
    case "sync":
    case "request":
    case "ephemeral":
    case "doc-unavailable": {
      if (!isId(m.targetId))
        return { ok: false, reason: "malformed_message", detail: "targetId must be an id" };
      if (!isDocumentId(m.documentId)) {
        return {
          ok: false,
          reason: "invalid_document_id",
          detail: "documentId is not a valid automerge document id",
        };
      }
      if (m.type === "doc-unavailable") {
        return {
          ok: true,
          message: {
            type: m.type,
            senderId: m.senderId,
            targetId: m.targetId,
            documentId: m.documentId,
          },
        };
      }
      if (!isBytes(m.data))
        return { ok: false, reason: "malformed_message", detail: "data must be bytes" };
      if (m.type === "ephemeral") {
        if (!isId(m.sessionId) || typeof m.count !== "number" || !Number.isSafeInteger(m.count)) {
          return {
            ok: false,
            reason: "malformed_message",
            detail: "an ephemeral message needs sessionId and count",
          };
        }
        return {
          ok: true,
          message: {
            type: "ephemeral",
            senderId: m.senderId,
            targetId: m.targetId,
            documentId: m.documentId,
            sessionId: m.sessionId,
            count: m.count,
            data: m.data,
          },
        };
      }
      return {
        ok: true,
        message: {
          type: m.type,
          senderId: m.senderId,
          targetId: m.targetId,
          documentId: m.documentId,
          data: m.data,
        },
      };
    }
    default:
      // remote-heads gossip included: the relay does not take part in it.
      return {
        ok: false,
        reason: "unknown_type",
        detail: `message type ${JSON.stringify(m.type).slice(0, 40)} is not accepted`,
      };
  }
}
