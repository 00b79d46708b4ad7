import { describe, expect, it } from "vitest";
import {
  addMoney,
  asCurrency,
  currencyDigits,
  formatMoney,
  mulDivRoundHalfUp,
  OmsError,
  subtractMoney,
} from "../../src/docs/index.js";

const usd = asCurrency("USD");
const eur = asCurrency("EUR");

describe("money", () => {
  it("rounds half away from zero", () => {
    expect(mulDivRoundHalfUp(7350n, 250n, 10_000n)).toBe(184n); // 183.75
    expect(mulDivRoundHalfUp(125n, 1n, 10n)).toBe(13n); // 12.5
    expect(mulDivRoundHalfUp(124n, 1n, 10n)).toBe(12n); // 12.4
    expect(mulDivRoundHalfUp(-125n, 1n, 10n)).toBe(-13n);
  });

  it("refuses to mix currencies, with a typed error", () => {
    const err = (() => {
      try {
        addMoney({ currency: usd, minor: 1 }, { currency: eur, minor: 1 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(OmsError);
    expect((err as OmsError).code).toBe("CURRENCY_MISMATCH");
    expect((err as OmsError).message).toMatch(/USD with EUR/);
  });

  it("adds and subtracts exactly, and refuses results beyond 2^53", () => {
    expect(addMoney({ currency: usd, minor: 10 }, { currency: usd, minor: 5 }).minor).toBe(15);
    expect(subtractMoney({ currency: usd, minor: 10 }, { currency: usd, minor: 15 }).minor).toBe(
      -5,
    );
    expect(() =>
      addMoney({ currency: usd, minor: Number.MAX_SAFE_INTEGER }, { currency: usd, minor: 1 }),
    ).toThrow(expect.objectContaining({ code: "AMOUNT_OVERFLOW" }));
  });

  it("knows minor digits and formats for people", () => {
    expect(currencyDigits(usd)).toBe(2);
    expect(currencyDigits(asCurrency("JPY"))).toBe(0);
    expect(formatMoney({ currency: usd, minor: 123_450 })).toBe("$1,234.50");
  });

  it("rejects malformed currency codes", () => {
    expect(() => asCurrency("usd")).toThrow(/three-letter ISO 4217 code/);
  });
});
