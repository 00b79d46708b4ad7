/**
 * What nodes tell each other over the bus. Notices are hints, never the data: each says that
 * something changed in the store, and a node that receives one reads the store. A node that
 * misses one finds the same change at its next re-check, later. So a notice carries ids and a
 * short fingerprint, never document content or Automerge sync messages (those are per pair of
 * peers and assume nothing is dropped, which a bus does not promise).
 */
export type Notice = DocumentNotice | AccessNotice | WorkNotice;

interface NoticeBase {
  /** The node that published it (a node ignores its own). */
  node: string;
  /** Publisher's clock (ms since epoch) at publish: the receiver's bus-lag measure. */
  at: number;
}

/** A document's stored state changed: new chunks were committed to the store. */
export interface DocumentNotice extends NoticeBase {
  type: "document";
  documentId: string;
  /** A hash of the heads stored (a node holding these heads already can skip the read). */
  heads: string;
}

/** A user was revoked or reinstated, or a document was reassigned: re-read access state. */
export interface AccessNotice extends NoticeBase {
  type: "access";
  change: "revoke" | "reinstate" | "reassign";
  organization: string;
  /** The user revoked or reinstated (revoke, reinstate). */
  userId?: string;
  /** The document reassigned (reassign). */
  documentId?: string;
}

/** Submission or assistance work was noted: a node with spare capacity may claim it. */
export interface WorkNotice extends NoticeBase {
  type: "work";
}

/** Largest encoded notice accepted; notices are ids and hashes, far smaller. */
export const MAX_NOTICE_BYTES = 4_096;

const isText = (v: unknown, max = 512): v is string =>
  typeof v === "string" && v.length > 0 && v.length <= max;

/** Validates a decoded value as a notice; anything else is `undefined` (and counted, not thrown). */
export function asNotice(value: unknown): Notice | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!isText(v.node, 64) || typeof v.at !== "number" || !Number.isFinite(v.at)) return undefined;
  const base = { node: v.node, at: v.at };
  switch (v.type) {
    case "document":
      if (!isText(v.documentId, 128) || !isText(v.heads, 128)) return undefined;
      return { type: "document", ...base, documentId: v.documentId, heads: v.heads };
    case "access": {
      if (v.change !== "revoke" && v.change !== "reinstate" && v.change !== "reassign")
        return undefined;
      if (!isText(v.organization, 256)) return undefined;
      if (v.userId !== undefined && !isText(v.userId, 256)) return undefined;
      if (v.documentId !== undefined && !isText(v.documentId, 128)) return undefined;
      return {
        type: "access",
        ...base,
        change: v.change,
        organization: v.organization,
        ...(v.userId !== undefined ? { userId: v.userId as string } : {}),
        ...(v.documentId !== undefined ? { documentId: v.documentId as string } : {}),
      };
    }
    case "work":
      return { type: "work", ...base };
    default:
      return undefined;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeNotice(notice: Notice): Uint8Array {
  return encoder.encode(JSON.stringify(notice));
}

/** Decodes bytes from the bus; a malformed notice is `undefined`, never an exception. */
export function decodeNotice(bytes: Uint8Array): Notice | undefined {
  if (bytes.byteLength > MAX_NOTICE_BYTES) return undefined;
  try {
    return asNotice(JSON.parse(decoder.decode(bytes)));
  } catch {
    return undefined;
  }
}
