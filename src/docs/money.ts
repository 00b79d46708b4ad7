import { invalidInput, OmsError } from "./errors.js";

/** ISO 4217 code, three upper-case letters. */
export type CurrencyCode = string & { readonly __brand: "CurrencyCode" };

/** An amount of money: integer minor units (cents for USD) of one currency. Never a float. */
export interface Money {
  readonly currency: CurrencyCode;
  readonly minor: number;
}

/**
 * Limits on a line item's numbers, chosen so that one line's amount is at most 10^14 minor units,
 * 90 times below 2^53: only a document of some 90 lines at both maxima can overflow its total.
 */
export const moneyLimits = {
  maxQuantity: 100_000,
  /** 1 billion minor units (10 million dollars at two decimals). */
  maxUnitPriceMinor: 1_000_000_000,
  /** Discounts are basis points of the line amount: 10_000 is 100 %. */
  maxDiscountBasisPoints: 10_000,
} as const;

const CURRENCY = /^[A-Z]{3}$/;

export function isCurrencyCode(value: unknown): value is CurrencyCode {
  return typeof value === "string" && CURRENCY.test(value);
}

export function asCurrency(code: string): CurrencyCode {
  if (!isCurrencyCode(code)) {
    invalidInput(
      "currency",
      `currency must be a three-letter ISO 4217 code such as "USD", got ${JSON.stringify(code)}`,
    );
  }
  return code;
}

/** Digits after the decimal point for a currency (2 for USD, 0 for JPY), from the platform's Intl data. */
export function currencyDigits(currency: CurrencyCode): number {
  try {
    return (
      new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
        .maximumFractionDigits ?? 2
    );
  } catch {
    return 2;
  }
}

export function money(minor: number, currency: CurrencyCode): Money {
  if (!Number.isSafeInteger(minor)) {
    invalidInput("minor", `an amount must be a whole number of minor units, got ${minor}`);
  }
  return { currency, minor };
}

function sameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) {
    throw new OmsError(
      "CURRENCY_MISMATCH",
      `cannot combine ${a.currency} with ${b.currency}: convert one amount first; oms-sync never mixes currencies`,
    );
  }
}

/** Turns an exact BigInt result into a safe JS number, or says why it cannot. */
export function toSafeMinor(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new OmsError(
      "AMOUNT_OVERFLOW",
      `${what} is ${value} minor units, beyond what a JavaScript number holds exactly; split the document into smaller ones`,
    );
  }
  return Number(value);
}

export function addMoney(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return { currency: a.currency, minor: toSafeMinor(BigInt(a.minor) + BigInt(b.minor), "the sum") };
}

export function subtractMoney(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return {
    currency: a.currency,
    minor: toSafeMinor(BigInt(a.minor) - BigInt(b.minor), "the difference"),
  };
}

/**
 * `value × numerator / denominator`, rounded half away from zero: the rounding rule of every
 * derived amount in oms-sync (a line's discount of 12.5 cents becomes 13 cents).
 */
export function mulDivRoundHalfUp(value: bigint, numerator: bigint, denominator: bigint): bigint {
  const product = value * numerator;
  const negative = product < 0n !== denominator < 0n;
  const p = product < 0n ? -product : product;
  const d = denominator < 0n ? -denominator : denominator;
  const rounded = (p * 2n + d) / (d * 2n);
  return negative ? -rounded : rounded;
}

/** Formats an amount for people, e.g. `$1,234.50`. */
export function formatMoney(value: Money, locale = "en-US"): string {
  const digits = currencyDigits(value.currency);
  const major = value.minor / 10 ** digits;
  return new Intl.NumberFormat(locale, { style: "currency", currency: value.currency }).format(
    major,
  );
}
