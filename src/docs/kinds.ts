import type { OrganizationId, UserId } from "./ids.js";

/** Every kind of document oms-sync syncs. */
export const documentKinds = [
  "quote",
  "order",
  "assistance",
  "workspace",
  "ledger",
  "inbox",
  "organization",
] as const;
export type DocumentKind = (typeof documentKinds)[number];

/** Kinds a user owns and may create on a device. */
export const userWritableKinds = ["quote", "order", "assistance", "workspace"] as const;
/** Kinds only the relay (or an organization admin) writes. */
export const serverWrittenKinds = ["ledger", "inbox", "organization"] as const;

/** Version of the document schemas; stored in every document to allow later migrations. */
export const SCHEMA_VERSION = 1;

/** What access decisions need to know about a document: its kind and whose it is. */
export interface DocumentMeta {
  readonly kind: DocumentKind;
  /** The owning user; absent for organization documents, which belong to the organization. */
  readonly owner?: UserId;
  readonly organization: OrganizationId;
}

export function isDocumentKind(value: unknown): value is DocumentKind {
  return typeof value === "string" && (documentKinds as readonly string[]).includes(value);
}

/** Reads the meta of any oms-sync document, or undefined when it has none. */
export function documentMeta(doc: unknown): DocumentMeta | undefined {
  if (typeof doc !== "object" || doc === null) return undefined;
  const d = doc as Record<string, unknown>;
  if (!isDocumentKind(d.kind) || typeof d.organization !== "string") return undefined;
  if (d.kind === "organization") {
    return { kind: d.kind, organization: d.organization as OrganizationId };
  }
  if (typeof d.owner !== "string") return undefined;
  return {
    kind: d.kind,
    owner: d.owner as UserId,
    organization: d.organization as OrganizationId,
  };
}
