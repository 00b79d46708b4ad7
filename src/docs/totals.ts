import type { LineItemId } from "./ids.js";
import { sortedLineItems } from "./line-items.js";
import { type Money, moneyLimits, mulDivRoundHalfUp, toSafeMinor } from "./money.js";
import type { CommercialDocument, LineItem } from "./types.js";

/** A line's derived amounts. */
export interface LineTotals {
  readonly id: LineItemId;
  /** quantity × unit price. */
  readonly gross: Money;
  /** gross × discount, rounded half away from zero to a whole minor unit. */
  readonly discount: Money;
  /** gross − discount. */
  readonly net: Money;
}

/** A document's derived amounts; never stored, always computed from the lines. */
export interface DocumentTotals {
  readonly lines: readonly LineTotals[];
  /** Sum of the lines' gross amounts. */
  readonly subtotal: Money;
  /** Sum of the lines' (already rounded) discounts. */
  readonly discount: Money;
  /** subtotal − discount, equal to the sum of the lines' net amounts. */
  readonly total: Money;
}

const BASIS = BigInt(moneyLimits.maxDiscountBasisPoints);

function lineAmounts(item: LineItem): { gross: bigint; discount: bigint } {
  const gross = BigInt(item.quantity) * BigInt(item.unitPrice);
  return { gross, discount: mulDivRoundHalfUp(gross, BigInt(item.discountBp), BASIS) };
}

/**
 * Computes the totals of a quote or order exactly in integer arithmetic. Rounding happens once
 * per line (the discount), so the total always equals the sum of the lines shown.
 *
 * @example
 * ```ts
 * const { total } = documentTotals(quote);
 * formatMoney(total); // "$1,234.50"
 * ```
 */
export function documentTotals(doc: CommercialDocument): DocumentTotals {
  const currency = doc.currency;
  let subtotal = 0n;
  let discount = 0n;
  const lines = sortedLineItems(doc).map((item) => {
    const a = lineAmounts(item);
    subtotal += a.gross;
    discount += a.discount;
    return {
      id: item.id,
      gross: { currency, minor: toSafeMinor(a.gross, "a line's amount") },
      discount: { currency, minor: toSafeMinor(a.discount, "a line's discount") },
      net: { currency, minor: toSafeMinor(a.gross - a.discount, "a line's net amount") },
    };
  });
  return {
    lines,
    subtotal: { currency, minor: toSafeMinor(subtotal, "the subtotal") },
    discount: { currency, minor: toSafeMinor(discount, "the discount") },
    total: { currency, minor: toSafeMinor(subtotal - discount, "the total") },
  };
}
