import { cbor } from "@automerge/automerge-repo/slim";
import type { Principal } from "../policy/principal.js";
import type { InboundMessage } from "./inbound-message.js";
import { REFUSAL_NOTICE, type RefusalNotice, refusalReasons } from "./protocol.js";
import type { WriteGate } from "./write-gate.js";

/** What to do with an inbound document message, whatever carries it (socket or simulation). */
export type InboundDecision =
  | { readonly action: "pass" }
  | { readonly action: "drop"; readonly reason: string }
  | { readonly action: "unavailable"; readonly reason: string }
  /** Reply to the sender with this sync message; the Repo does not see the message. */
  | { readonly action: "answer"; readonly data: Uint8Array }
  | { readonly action: "refuse"; readonly reason: string; readonly notice: RefusalNotice };

/**
 * The relay's decision for a shape-checked message from a joined peer: read access for every
 * document message, the write gate for every change set.
 */
export async function judgeInbound(
  gate: WriteGate,
  principal: Principal,
  message: InboundMessage,
): Promise<InboundDecision> {
  switch (message.type) {
    case "join":
    case "leave":
      return { action: "pass" };
    case "sync":
    case "request": {
      const verdict = await gate.check(principal, message.documentId, message.data);
      if (verdict.action === "pass") return { action: "pass" };
      if (verdict.action === "answer") return verdict;
      if (verdict.action === "unavailable")
        return { action: "unavailable", reason: refusalReasons.noAccess };
      return {
        action: "refuse",
        reason: verdict.reasons.some((r) => r.code === "ACCESS_REVOKED")
          ? refusalReasons.accessRevoked
          : verdict.reasons.some(
                (r) => r.code === "MALFORMED_SYNC" || r.code === "UNDECODABLE_CHANGE",
              )
            ? refusalReasons.malformedSync
            : refusalReasons.writeRefused,
        notice: {
          type: REFUSAL_NOTICE,
          documentId: message.documentId,
          reasons: verdict.reasons,
          ...(verdict.heads ? { heads: verdict.heads } : {}),
        },
      };
    }
    case "ephemeral": {
      // automerge-repo decodes the data of every ephemeral message it gets (DocSynchronizer),
      // and the relay isolates a document whose message throws there: data that is not CBOR
      // would let any reader stop the document being served. Such data reaches nobody.
      const data = decodeData(message.data);
      if (!data.ok) return { action: "drop", reason: refusalReasons.malformedMessage };
      // Clients treat a refusal notice as the relay's word: one from a client is a forgery,
      // whoever it claims to be from, and never reaches anyone.
      if (isNotice(data.value)) return { action: "drop", reason: refusalReasons.forgedNotice };
      return (await gate.mayRead(principal, message.documentId))
        ? { action: "pass" }
        : { action: "drop", reason: refusalReasons.noAccess };
    }
    case "doc-unavailable":
      return (await gate.mayRead(principal, message.documentId))
        ? { action: "pass" }
        : { action: "drop", reason: refusalReasons.noAccess };
  }
}

/** May this outbound message go to this peer? Nothing about a document its user may not read. */
export function allowOutbound(
  gate: WriteGate,
  principal: Principal,
  message: { type: string; documentId?: unknown },
): boolean {
  const documentId = typeof message.documentId === "string" ? message.documentId : undefined;
  return !documentId || message.type === "doc-unavailable" || gate.canRead(principal, documentId);
}

/** An ephemeral message's data decoded as automerge-repo decodes it, or not decodable. */
function decodeData(data: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: cbor.decode(data) };
  } catch {
    return { ok: false };
  }
}

/** Anything typed as a refusal notice, complete or not: clients may check only the type. */
function isNotice(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { type?: unknown }).type === REFUSAL_NOTICE
  );
}
