/**
 * What nodes tell each other over the bus. Notices are hints, never the data: each says that
 * something changed in the store, and a node that receives one reads the store. A node that
 * misses one finds the same change at its next re-check, later. So a notice carries ids and a
 * short fingerprint, and at most the bytes of small chunks already committed to the store (a
 * shortcut for the read that would fetch them), never Automerge sync messages (those are per pair
 * of peers and assume nothing is dropped, which a bus does not promise).
 *
 * The one exception is presence: a client's ephemeral message is passed on to the other nodes as
 * it is, because it is never stored and at most once is what its senders expect of it anyway.
 */
export type Notice = DocumentNotice | AccessNotice | WorkNotice | EphemeralNotice;

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
  /**
   * The chunks just committed, when small (`MAX_INLINE_BYTES` in all): a node applies them
   * instead of reading the store. Each names its storage key, which the receiver checks the
   * bytes against; bytes that do not match are dropped and the store is read instead.
   */
  chunks?: InlineChunk[];
}

/** A committed chunk carried by a document notice. */
export interface InlineChunk {
  kind: "snapshot" | "incremental";
  /** The last part of its storage key (a hash). */
  name: string;
  /** The chunk's bytes, base64. */
  data: string;
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

/**
 * A client's ephemeral message (presence and the like) for a document, as the node it reached
 * passed it on: its sender's peer id as that node names it, that node's session and count.
 * Other nodes send it to their own peers of the document who may read it.
 */
export interface EphemeralNotice extends NoticeBase {
  type: "ephemeral";
  documentId: string;
  senderId: string;
  sessionId: string;
  count: number;
  /** The message's data (CBOR), base64. */
  data: string;
}

/** Data bytes of an ephemeral message passed to other nodes at most (larger ones stay local). */
export const MAX_EPHEMERAL_BYTES = 16_384;

/** Chunk bytes a document notice carries at most (beyond, the receiver reads the store). */
export const MAX_INLINE_BYTES = 65_536;

/** Chunks a document notice carries at most. */
export const MAX_INLINE_CHUNKS = 8;

/** Largest encoded notice accepted: ids and hashes, plus inline chunks in base64. */
export const MAX_NOTICE_BYTES = 4_096 + Math.ceil(MAX_INLINE_BYTES / 3) * 4;

const isChunk = (v: unknown): v is InlineChunk => {
  if (typeof v !== "object" || v === null) return false;
  const c = v as Record<string, unknown>;
  return (
    (c.kind === "snapshot" || c.kind === "incremental") &&
    isText(c.name, 128) &&
    isText(c.data, MAX_NOTICE_BYTES)
  );
};

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
      if (
        v.chunks !== undefined &&
        !(
          Array.isArray(v.chunks) &&
          v.chunks.length <= MAX_INLINE_CHUNKS &&
          v.chunks.every(isChunk)
        )
      )
        return undefined;
      return {
        type: "document",
        ...base,
        documentId: v.documentId,
        heads: v.heads,
        ...(v.chunks !== undefined
          ? {
              chunks: (v.chunks as InlineChunk[]).map(({ kind, name, data }) => ({
                kind,
                name,
                data,
              })),
            }
          : {}),
      };
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
    case "ephemeral":
      if (
        !isText(v.documentId, 128) ||
        !isText(v.senderId, 1_024) ||
        !isText(v.sessionId, 128) ||
        !Number.isSafeInteger(v.count) ||
        !isText(v.data, Math.ceil(MAX_EPHEMERAL_BYTES / 3) * 4)
      )
        return undefined;
      return {
        type: "ephemeral",
        ...base,
        documentId: v.documentId,
        senderId: v.senderId,
        sessionId: v.sessionId,
        count: v.count as number,
        data: v.data,
      };
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
