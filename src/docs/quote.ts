import { updateText } from "@automerge/automerge";
import type { OrganizationId, UserId } from "./ids.js";
import { SCHEMA_VERSION } from "./kinds.js";
import { asCurrency } from "./money.js";
import { quoteSchema } from "./schema.js";
import type { CommercialDocument, Customer, Quote } from "./types.js";
import { checkInputs } from "./validate-input.js";

/** What a new quote (or order) starts from. */
export interface NewCommercialDocument {
  owner: UserId;
  organization: OrganizationId;
  /** ISO 4217 code; fixed for the document's life. */
  currency: string;
  customer?: Partial<Customer>;
  projectName?: string;
  notes?: string;
  /** Creation time (device clock); defaults to now. */
  now?: number;
}

/** The header fields a user edits. */
export interface HeaderPatch {
  customer?: Partial<Customer>;
  projectName?: string;
}

const f = quoteSchema.entries;
const customerFields = f.customer.entries;

function checkHeader(patch: HeaderPatch & { notes?: string }): void {
  checkInputs([
    ["customer.name", customerFields.name, patch.customer?.name],
    ["customer.contact", customerFields.contact, patch.customer?.contact],
    ["projectName", f.projectName, patch.projectName],
    ["notes", f.notes, patch.notes],
  ]);
}

/** The fields a new quote and a new order share, checked. */
export function newCommercialFields(input: NewCommercialDocument): CommercialDocument {
  const currency = asCurrency(input.currency);
  checkHeader(input);
  checkInputs([
    ["owner", f.owner, input.owner],
    ["organization", f.organization, input.organization],
  ]);
  const now = input.now ?? Date.now();
  return {
    schemaVersion: SCHEMA_VERSION,
    owner: input.owner,
    organization: input.organization,
    customer: { name: input.customer?.name ?? "", contact: input.customer?.contact ?? "" },
    projectName: input.projectName ?? "",
    notes: input.notes ?? "",
    currency,
    createdAt: now,
    updatedAt: now,
    lineItems: {},
  };
}

/**
 * The initial content of a new quote, for `repo.create(…)`.
 *
 * @example
 * ```ts
 * const handle = repo.create(createQuote({ owner, organization, currency: "USD" }));
 * ```
 */
export function createQuote(input: NewCommercialDocument): Quote {
  return { kind: "quote", ...newCommercialFields(input) };
}

/** Sets header fields; fields not named are not written. */
export function setHeader(
  doc: CommercialDocument,
  patch: HeaderPatch,
  options: { now?: number } = {},
): void {
  checkHeader(patch);
  if (patch.customer?.name !== undefined && doc.customer.name !== patch.customer.name) {
    doc.customer.name = patch.customer.name;
  }
  if (patch.customer?.contact !== undefined && doc.customer.contact !== patch.customer.contact) {
    doc.customer.contact = patch.customer.contact;
  }
  if (patch.projectName !== undefined && doc.projectName !== patch.projectName) {
    doc.projectName = patch.projectName;
  }
  doc.updatedAt = options.now ?? Date.now();
}

/**
 * Replaces the notes with `text` as a minimal character edit, so that concurrent edits to other
 * parts of the notes on other devices are kept.
 */
export function setNotes(
  doc: CommercialDocument,
  text: string,
  options: { now?: number } = {},
): void {
  checkHeader({ notes: text });
  updateText(doc, ["notes"], text);
  doc.updatedAt = options.now ?? Date.now();
}
