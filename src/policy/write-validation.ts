import { type DocumentMeta, documentMeta } from "../docs/kinds.js";
import { own } from "../docs/own.js";
import { checkDocument } from "../docs/schema.js";
import type { Order } from "../docs/types.js";
import { type AccessPolicy, defaultAccessPolicy } from "./access.js";
import { jsonEqual } from "./json-equal.js";
import type { Principal } from "./principal.js";

/** Why a write is refused. */
export type RefusalCode =
  | "SCHEMA"
  | "NOT_A_DOCUMENT"
  | "FORBIDDEN"
  | "READ_ONLY"
  | "WRONG_OWNER"
  | "WRONG_ORGANIZATION"
  | "IMMUTABLE_FIELD"
  | "FIELD_NOT_ALLOWED"
  /** The user could read the document once and no longer may (an admin reassigned it). */
  | "ACCESS_REVOKED"
  /** The relay could not judge the change set now (it was busy); it is retried by the next sync. */
  | "TRY_LATER"
  /** The sync message is not one automerge produces (its parameters, or automerge fails on it). */
  | "MALFORMED_SYNC"
  /** A change automerge's JS API cannot decode (e.g. a time beyond 2^53). */
  | "UNDECODABLE_CHANGE";

export interface WriteRefusal {
  readonly code: RefusalCode;
  readonly message: string;
  readonly path?: readonly (string | number)[];
}

export type WriteDecision =
  | { readonly ok: true }
  | { readonly ok: false; readonly reasons: readonly WriteRefusal[] };

/** Extra field-level rules an embedding OMS can add (e.g. who may change a discount). */
export type FieldRule = (input: {
  principal: Principal;
  meta: DocumentMeta;
  before: unknown;
  after: unknown;
}) => WriteRefusal[];

export interface WriteInput {
  principal: Principal;
  /** The document before the changes; undefined when the changes create it. */
  before: unknown;
  /** The document after the changes. */
  after: unknown;
  policy?: AccessPolicy;
  fieldRules?: readonly FieldRule[];
}

/** Fields that no client may change once a document exists. */
export const immutableFields: Readonly<Record<string, readonly string[]>> = {
  quote: ["kind", "owner", "organization", "currency", "createdAt"],
  order: ["kind", "owner", "organization", "currency", "createdAt", "sourceQuote"],
  assistance: ["kind", "owner", "organization", "createdBy", "createdAt"],
  workspace: ["kind", "owner", "organization"],
  ledger: ["kind", "owner", "organization"],
  inbox: ["kind", "owner", "organization"],
  organization: ["kind", "organization"],
};

/** Submission requests are append-only, and each names its writer. */
const submissionsRule: FieldRule = ({ principal, meta, before, after }) => {
  if (meta.kind !== "order") return [];
  const was = (before as Order | undefined)?.submissions ?? {};
  const now = (after as Order).submissions ?? {};
  const reasons: WriteRefusal[] = [];
  for (const [id, request] of Object.entries(was)) {
    if (!jsonEqual(request, own(now, id))) {
      reasons.push({
        code: "IMMUTABLE_FIELD",
        path: ["submissions", id],
        message: `submission request ${id} was changed or removed; a submission request is permanent, submit again instead`,
      });
    }
  }
  for (const [id, request] of Object.entries(now)) {
    if (Object.hasOwn(was, id)) continue;
    if (request.requestedBy !== principal.userId) {
      reasons.push({
        code: "FIELD_NOT_ALLOWED",
        path: ["submissions", id, "requestedBy"],
        message: `a submission request must name its writer ${principal.userId}, not ${request.requestedBy}`,
      });
    }
  }
  return reasons;
};

/** The field rules every policy applies. */
export const defaultFieldRules: readonly FieldRule[] = [submissionsRule];

/**
 * Decides whether `principal` may turn `before` into `after`. The client calls it before it
 * writes and the relay before it accepts, so a correct client is never refused.
 *
 * @example
 * ```ts
 * const decision = validateWrite({ principal, before: undefined, after: createQuote({ … }) });
 * if (!decision.ok) console.warn(decision.reasons.map((r) => r.message));
 * ```
 */
export function validateWrite(input: WriteInput): WriteDecision {
  const { principal, before, after } = input;
  const policy = input.policy ?? defaultAccessPolicy;
  const rules = input.fieldRules ?? defaultFieldRules;

  const meta = documentMeta(after);
  if (!meta) {
    const violations = checkDocument(after);
    return refuse(
      violations.length > 0
        ? violations.map((v) => ({ code: "SCHEMA" as const, path: v.path, message: v.message }))
        : [{ code: "NOT_A_DOCUMENT", message: "the document has no kind, owner or organization" }],
    );
  }

  const reasons: WriteRefusal[] = [];
  if (before === undefined) {
    if (meta.organization !== principal.organization) {
      reasons.push({
        code: "WRONG_ORGANIZATION",
        path: ["organization"],
        message: `a new document must belong to your organization ${principal.organization}, not ${meta.organization}`,
      });
    } else if (meta.owner !== undefined && meta.owner !== principal.userId) {
      reasons.push({
        code: "WRONG_OWNER",
        path: ["owner"],
        message: `a new document must be owned by its creator ${principal.userId}, not ${meta.owner}`,
      });
    } else if (!policy.canCreate(principal, meta)) {
      reasons.push({
        code: "READ_ONLY",
        message: `${principal.userId} may not create a ${meta.kind} document; only the relay writes those`,
      });
    }
  } else {
    const beforeMeta = documentMeta(before);
    if (!beforeMeta) {
      reasons.push({
        code: "NOT_A_DOCUMENT",
        message: "the document before this change is not an oms-sync document",
      });
    } else if (!policy.canWrite(principal, beforeMeta)) {
      reasons.push({
        code: policy.canRead(principal, beforeMeta) ? "READ_ONLY" : "FORBIDDEN",
        message: policy.canRead(principal, beforeMeta)
          ? `${principal.userId} may read this ${beforeMeta.kind} but not write it`
          : `${principal.userId} may not access this ${beforeMeta.kind}`,
      });
    } else {
      for (const field of immutableFields[beforeMeta.kind] ?? []) {
        const was = (before as Record<string, unknown>)[field];
        const now = (after as Record<string, unknown>)[field];
        if (!jsonEqual(was, now)) {
          reasons.push({
            code:
              field === "owner"
                ? "WRONG_OWNER"
                : field === "organization"
                  ? "WRONG_ORGANIZATION"
                  : "IMMUTABLE_FIELD",
            path: [field],
            message: `${field} cannot change after creation (was ${JSON.stringify(was)}, now ${JSON.stringify(now)})`,
          });
        }
      }
    }
  }
  if (reasons.length > 0) return refuse(reasons);

  for (const v of checkDocument(after))
    reasons.push({ code: "SCHEMA", path: v.path, message: v.message });
  for (const rule of rules) reasons.push(...rule({ principal, meta, before, after }));
  return reasons.length > 0 ? refuse(reasons) : { ok: true };
}

function refuse(reasons: WriteRefusal[]): WriteDecision {
  return { ok: false, reasons };
}
