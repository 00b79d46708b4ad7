import { OmsError } from "./errors.js";
import { type LineItemId, newLineItemId } from "./ids.js";
import { own } from "./own.js";
import { comparePositioned, keysForInsert } from "./positions.js";
import { lineItemSchema } from "./schema.js";
import type { CommercialDocument, LineItem } from "./types.js";
import { checkInputs } from "./validate-input.js";

/** A line item together with its id, as lists and views show it. */
export type LineItemWithId = LineItem & { readonly id: LineItemId };

/** What a caller gives to add a line. */
export interface NewLineItem {
  productCode: string;
  description?: string;
  options?: Record<string, string>;
  quantity: number;
  /** Minor units of the document's currency. */
  unitPrice: number;
  /** Basis points, default 0. */
  discountBp?: number;
}

/** What a caller may change on a line. An option set to null is removed. */
export interface LineItemPatch {
  productCode?: string;
  description?: string;
  options?: Record<string, string | null>;
  quantity?: number;
  unitPrice?: number;
  discountBp?: number;
}

const f = lineItemSchema.entries;

/** The lines of a document in their one total order: by position, then by id. */
export function sortedLineItems(doc: Pick<CommercialDocument, "lineItems">): LineItemWithId[] {
  return Object.entries(doc.lineItems)
    .map(([id, item]) => ({ ...item, id: id as LineItemId }))
    .sort(comparePositioned);
}

/**
 * The ids and positions of the lines in their order, reading nothing else: inside a change every
 * read goes through Automerge's proxies, and reading whole lines (options included) costs ten
 * times as much as reading their positions.
 */
function lineOrder(doc: Pick<CommercialDocument, "lineItems">): { id: string; position: string }[] {
  const lines = doc.lineItems;
  return Object.keys(lines)
    .map((id) => ({ id, position: (lines[id as LineItemId] as LineItem).position }))
    .sort(comparePositioned);
}

function requireLine(doc: CommercialDocument, id: LineItemId): LineItem {
  const item = own(doc.lineItems, id);
  if (!item) {
    throw new OmsError(
      "NOT_FOUND",
      `line item ${id} is not in this document (another device may have removed it); reload the lines and try again`,
    );
  }
  return item;
}

function checkOptions(options: Record<string, string | null> | undefined): void {
  if (!options) return;
  const values = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== null));
  checkInputs([["options", f.options, values]]);
}

/**
 * Adds a line at `index` of the ordered lines (default: at the end) and returns its new id.
 * Call inside a change callback (`handle.change(d => addLineItem(d, …))`).
 *
 * @example
 * ```ts
 * handle.change((q) => addLineItem(q, { productCode: "DH-3046", quantity: 2, unitPrice: 45_900 }));
 * ```
 */
export function addLineItem(
  doc: CommercialDocument,
  input: NewLineItem,
  options: { index?: number; now?: number } = {},
): LineItemId {
  return addLineItems(doc, [input], options)[0] as LineItemId;
}

/**
 * Adds several lines together, in the given order, at `index` of the ordered lines (default: at
 * the end), and returns their new ids. Reads the existing lines once: adding 20 lines this way
 * costs about what adding one does, where 20 `addLineItem` calls read them 20 times.
 *
 * @example
 * ```ts
 * handle.change((q) => addLineItems(q, pasted.map((p) => ({ productCode: p.code, quantity: p.qty, unitPrice: p.price }))));
 * ```
 */
export function addLineItems(
  doc: CommercialDocument,
  inputs: readonly NewLineItem[],
  options: { index?: number; now?: number } = {},
): LineItemId[] {
  for (const input of inputs) {
    checkInputs([
      ["productCode", f.productCode, input.productCode],
      ["description", f.description, input.description ?? ""],
      ["quantity", f.quantity, input.quantity],
      ["unitPrice", f.unitPrice, input.unitPrice],
      ["discountBp", f.discountBp, input.discountBp ?? 0],
    ]);
    checkOptions(input.options);
  }
  if (inputs.length === 0) return [];
  const sorted = lineOrder(doc);
  const { keys, rekey } = keysForInsert(sorted, options.index ?? sorted.length, inputs.length);
  const ids = inputs.map((input, i) => {
    const id = newLineItemId();
    // The whole item is written in one assignment so that no replica ever sees half of it.
    doc.lineItems[id] = {
      productCode: input.productCode,
      description: input.description ?? "",
      options: { ...(input.options ?? {}) },
      quantity: input.quantity,
      unitPrice: input.unitPrice,
      discountBp: input.discountBp ?? 0,
      position: keys[i] as string,
    };
    return id;
  });
  for (const r of rekey) (doc.lineItems[r.id as LineItemId] as LineItem).position = r.position;
  doc.updatedAt = options.now ?? Date.now();
  return ids;
}

/** Changes fields of one line; unchanged fields are not written, so concurrent edits of other fields survive. */
export function updateLineItem(
  doc: CommercialDocument,
  id: LineItemId,
  patch: LineItemPatch,
  options: { now?: number } = {},
): void {
  const item = requireLine(doc, id);
  checkInputs([
    ["productCode", f.productCode, patch.productCode],
    ["description", f.description, patch.description],
    ["quantity", f.quantity, patch.quantity],
    ["unitPrice", f.unitPrice, patch.unitPrice],
    ["discountBp", f.discountBp, patch.discountBp],
  ]);
  checkOptions(patch.options);
  const scalar = ["productCode", "description", "quantity", "unitPrice", "discountBp"] as const;
  for (const key of scalar) {
    const value = patch[key];
    if (value !== undefined && item[key] !== value)
      (item as unknown as Record<string, unknown>)[key] = value;
  }
  for (const [name, value] of Object.entries(patch.options ?? {})) {
    if (value === null) delete item.options[name];
    else if (own(item.options, name) !== value) item.options[name] = value;
  }
  doc.updatedAt = options.now ?? Date.now();
}

/** Removes a line. A concurrent edit of the same line on another device is discarded by the merge. */
export function removeLineItem(
  doc: CommercialDocument,
  id: LineItemId,
  options: { now?: number } = {},
): void {
  requireLine(doc, id);
  delete doc.lineItems[id];
  doc.updatedAt = options.now ?? Date.now();
}

/** Moves a line to `index` of the ordered lines (counted without the moved line). */
export function moveLineItem(
  doc: CommercialDocument,
  id: LineItemId,
  index: number,
  options: { now?: number } = {},
): void {
  const item = requireLine(doc, id);
  if (!Number.isInteger(index) || index < 0) {
    throw new OmsError("INVALID_INPUT", `index must be a whole number of at least 0, got ${index}`);
  }
  const others = lineOrder(doc).filter((line) => line.id !== id);
  const { keys, rekey } = keysForInsert(others, index);
  item.position = keys[0] as string;
  for (const r of rekey) (doc.lineItems[r.id as LineItemId] as LineItem).position = r.position;
  doc.updatedAt = options.now ?? Date.now();
}
