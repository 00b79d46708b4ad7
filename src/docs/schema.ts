import * as v from "valibot";
import { ValidationError, type Violation } from "./errors.js";
import { type DocumentKind, documentKinds } from "./kinds.js";
import { isCurrencyCode, moneyLimits } from "./money.js";
import { isPositionKey } from "./positions.js";
import type { OmsDocument } from "./types.js";

// Every rule here constrains one field on its own. A rule across fields or entries (a maximum
// number of lines, a total) could be broken by merging two valid states, so none exists.

const received = (issue: { received: string }) => issue.received;

const text = (name: string, max: number) =>
  v.pipe(
    v.string((i) => `${name} must be text, got ${received(i)}`),
    v.maxLength(max, (i) => `${name} must be at most ${max} characters, got ${i.received}`),
  );

const wholeNumber = (name: string, min: number, max: number) =>
  v.pipe(
    v.number((i) => `${name} must be a number, got ${received(i)}`),
    v.integer((i) => `${name} must be a whole number, got ${i.received}`),
    v.minValue(min, (i) =>
      min === 1
        ? `${name} must be a positive whole number, got ${i.received}`
        : `${name} must be at least ${min}, got ${i.received}`,
    ),
    v.maxValue(max, (i) => `${name} must be at most ${max}, got ${i.received}`),
  );

const timestamp = (name: string) => wholeNumber(name, 0, 8_640_000_000_000_000);

const id = (name: string) =>
  v.pipe(
    v.string((i) => `${name} must be an id, got ${received(i)}`),
    v.minLength(1, `${name} must not be empty`),
    v.maxLength(200, (i) => `${name} must be at most 200 characters, got ${i.received}`),
  );

const literal = <T extends string>(name: string, value: T) =>
  v.literal(value, (i) => `${name} must be "${value}", got ${received(i)}`);

const picklist = <T extends readonly string[]>(name: string, values: T) =>
  v.picklist(values, (i) => `${name} must be one of ${values.join(", ")}, got ${received(i)}`);

/** Limits on sizes of text fields, in characters. */
export const textLimits = {
  shortText: 500,
  longText: 100_000,
  optionValue: 500,
  optionsPerLine: 100,
} as const;

const short = (name: string) => text(name, textLimits.shortText);
const long = (name: string) => text(name, textLimits.longText);

export const lineItemSchema = v.looseObject({
  productCode: short("productCode"),
  description: short("description"),
  options: v.record(
    short("option name"),
    text("option value", textLimits.optionValue),
    (i) => `options must be a map of text, got ${received(i)}`,
  ),
  quantity: wholeNumber("quantity", 1, moneyLimits.maxQuantity),
  unitPrice: wholeNumber("unitPrice", 0, moneyLimits.maxUnitPriceMinor),
  discountBp: wholeNumber("discountBp", 0, moneyLimits.maxDiscountBasisPoints),
  position: v.custom<string>(isPositionKey, "position must be a fractional-index key"),
});

const owned = {
  schemaVersion: wholeNumber("schemaVersion", 1, 1_000),
  owner: id("owner"),
  organization: id("organization"),
};

const commercial = {
  ...owned,
  customer: v.looseObject({ name: short("customer name"), contact: short("customer contact") }),
  projectName: short("projectName"),
  notes: long("notes"),
  currency: v.custom<string>(
    isCurrencyCode,
    (i) => `currency must be an ISO 4217 code, got ${i.received}`,
  ),
  createdAt: timestamp("createdAt"),
  updatedAt: timestamp("updatedAt"),
  lineItems: v.record(id("line item id"), lineItemSchema, "lineItems must be a map"),
};

export const quoteSchema = v.looseObject({ kind: literal("kind", "quote"), ...commercial });

export const submissionRequestSchema = v.looseObject({
  requestedBy: id("requestedBy"),
  requestedAt: timestamp("requestedAt"),
  heads: v.pipe(
    v.array(v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, "a head must be 64 hex digits"))),
    v.minLength(1, "heads must name at least one change"),
  ),
  lastSyncAt: v.nullable(timestamp("lastSyncAt")),
  lastSyncReceipt: v.optional(
    v.nullable(v.pipe(v.string(), v.maxLength(2_000, "lastSyncReceipt is too long"))),
  ),
});

export const orderSchema = v.looseObject({
  kind: literal("kind", "order"),
  ...commercial,
  sourceQuote: v.nullable(id("sourceQuote")),
  submissions: v.record(id("request id"), submissionRequestSchema, "submissions must be a map"),
});

const relatedKind = picklist("related kind", ["quote", "order"] as const);

export const assistanceSchema = v.looseObject({
  kind: literal("kind", "assistance"),
  ...owned,
  subject: short("subject"),
  body: long("body"),
  related: v.nullable(v.looseObject({ kind: relatedKind, id: id("related id") })),
  createdBy: id("createdBy"),
  createdAt: timestamp("createdAt"),
});

const myMap = v.record(
  id("document id"),
  v.looseObject({
    kind: picklist("entry kind", ["quote", "order", "assistance"] as const),
    addedAt: timestamp("addedAt"),
  }),
);

export const workspaceSchema = v.looseObject({
  kind: literal("kind", "workspace"),
  ...owned,
  my: myMap,
  myParts: v.optional(v.record(text("part name", 1), myMap)),
  read: v.record(id("message id"), timestamp("read time")),
});

const outcomeBase = { orderId: id("orderId"), processedAt: timestamp("processedAt") };
export const submissionOutcomeSchema = v.variant("status", [
  v.looseObject({
    status: v.literal("accepted"),
    ...outcomeBase,
    revision: wholeNumber("revision", 1, 1_000_000),
    orderNumber: short("orderNumber"),
    heads: v.array(v.string()),
  }),
  v.looseObject({
    status: v.literal("duplicate"),
    ...outcomeBase,
    duplicateOf: id("duplicateOf"),
    revision: wholeNumber("revision", 1, 1_000_000),
    orderNumber: short("orderNumber"),
  }),
  v.looseObject({
    status: v.literal("rejected"),
    ...outcomeBase,
    code: short("code"),
    reason: short("reason"),
  }),
]);

export const ledgerSchema = v.looseObject({
  kind: literal("kind", "ledger"),
  ...owned,
  submissions: v.record(id("request id"), submissionOutcomeSchema),
  assistance: v.record(
    id("assistance id"),
    v.looseObject({
      ticketNumber: short("ticketNumber"),
      state: picklist("state", ["open", "closed"] as const),
      receivedAt: timestamp("receivedAt"),
    }),
  ),
});

export const inboxSchema = v.looseObject({
  kind: literal("kind", "inbox"),
  ...owned,
  messages: v.record(
    id("message id"),
    v.looseObject({
      at: timestamp("at"),
      subject: short("subject"),
      body: long("body"),
      ref: v.nullable(
        v.looseObject({
          kind: picklist("ref kind", ["quote", "order", "assistance"] as const),
          id: id("ref id"),
        }),
      ),
    }),
  ),
});

export const organizationSchema = v.looseObject({
  kind: literal("kind", "organization"),
  schemaVersion: owned.schemaVersion,
  organization: id("organization"),
  name: short("name"),
  addresses: v.record(
    id("address id"),
    v.looseObject({
      label: short("label"),
      lines: v.array(short("address line")),
      city: short("city"),
      postalCode: short("postalCode"),
      country: short("country"),
    }),
  ),
  priceListVersion: short("priceListVersion"),
  members: v.record(
    id("member id"),
    v.looseObject({ name: short("member name"), roles: v.array(short("role")) }),
  ),
});

const schemas = {
  quote: quoteSchema,
  order: orderSchema,
  assistance: assistanceSchema,
  workspace: workspaceSchema,
  ledger: ledgerSchema,
  inbox: inboxSchema,
  organization: organizationSchema,
} satisfies Record<DocumentKind, v.GenericSchema>;

function toViolations(issues: readonly v.BaseIssue<unknown>[]): Violation[] {
  return issues.map((issue) => ({
    path: (issue.path ?? []).map((p) => p.key as string | number),
    message: issue.message,
  }));
}

/**
 * Checks any document against the schema of its kind and returns every violation, each with
 * its path; an empty list means valid.
 *
 * @example
 * ```ts
 * const problems = checkDocument(doc);
 * if (problems.length > 0) console.warn(problems[0].path.join("."), problems[0].message);
 * ```
 */
export function checkDocument(doc: unknown): Violation[] {
  if (typeof doc !== "object" || doc === null) {
    return [{ path: [], message: "a document must be an object" }];
  }
  const kind = (doc as { kind?: unknown }).kind;
  if (typeof kind !== "string" || !(kind in schemas)) {
    return [
      {
        path: ["kind"],
        message: `kind must be one of ${documentKinds.join(", ")}, got ${JSON.stringify(kind)}`,
      },
    ];
  }
  const result = v.safeParse(schemas[kind as DocumentKind], doc, { abortEarly: false });
  return result.success ? [] : toViolations(result.issues);
}

/** True when the document passes its schema. */
export function isValidDocument(doc: unknown): doc is OmsDocument {
  return checkDocument(doc).length === 0;
}

/** Throws a ValidationError (code INVALID_DOCUMENT) listing every violation, if there is one. */
export function assertValidDocument(doc: unknown): asserts doc is OmsDocument {
  const violations = checkDocument(doc);
  if (violations.length > 0) throw new ValidationError("INVALID_DOCUMENT", violations);
}
