// One catalogue row derived from a document: the relay's catalogue and the client's "My" rows
// (src/client/my-rows.ts) show the same fields, computed the same way.
import type { CatalogueKind } from "./catalogue.js";
import { OmsError } from "./errors.js";
import type { DocumentMeta } from "./kinds.js";
import { documentTotals } from "./totals.js";
import type { AssistanceRequest, CommercialDocument } from "./types.js";

/** What the catalogue keeps of one document, derived from the stored document alone. */
export interface DerivedRow {
  kind: CatalogueKind;
  organization: string;
  owner: string;
  customer: string;
  /** The project name; an assistance request's subject. */
  project: string;
  currency: string | null;
  /** Null for assistance requests and for a total beyond a safe integer. */
  totalMinor: number | null;
  lineCount: number;
  createdAt: number;
  updatedAt: number;
  /** Submission requests written into an order (pending while more than its outcomes). */
  requestCount: number;
}

const text = (v: unknown): string => (typeof v === "string" ? v : "");
const time = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/**
 * The catalogue row of a stored quote, order or assistance request. Kind, organization and owner
 * come from the registry (what access decisions use); the rest from the document the write gate
 * accepted. Reads a handful of fields and the lines: nothing else is materialised.
 */
export function deriveRow(meta: DocumentMeta, doc: unknown): DerivedRow | undefined {
  if (meta.kind !== "quote" && meta.kind !== "order" && meta.kind !== "assistance")
    return undefined;
  if (!meta.owner || typeof doc !== "object" || doc === null) return undefined;
  const base = { kind: meta.kind, organization: meta.organization, owner: meta.owner };
  if (meta.kind === "assistance") {
    const a = doc as Partial<AssistanceRequest>;
    return {
      ...base,
      customer: "",
      project: text(a.subject),
      currency: null,
      totalMinor: null,
      lineCount: 0,
      createdAt: time(a.createdAt),
      updatedAt: time(a.createdAt),
      requestCount: 0,
    };
  }
  const c = doc as Partial<CommercialDocument> & { submissions?: Record<string, unknown> };
  const lines = c.lineItems ?? {};
  let totalMinor: number | null = null;
  try {
    totalMinor = documentTotals(c as CommercialDocument).total.minor;
  } catch (err) {
    // A total beyond 2^53 minor units is shown as unknown rather than wrong.
    if (!(err instanceof OmsError && err.code === "AMOUNT_OVERFLOW")) throw err;
  }
  return {
    ...base,
    customer: text(c.customer?.name),
    project: text(c.projectName),
    currency: typeof c.currency === "string" ? c.currency : null,
    totalMinor,
    lineCount: Object.keys(lines).length,
    createdAt: time(c.createdAt),
    updatedAt: Math.max(time(c.updatedAt), time(c.createdAt)),
    requestCount: meta.kind === "order" ? Object.keys(c.submissions ?? {}).length : 0,
  };
}
