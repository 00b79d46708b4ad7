import { describe, expect, it } from "vitest";
import { canonicalJson, sealOf, verifySeal } from "../../src/relay/receipt-seal.js";

const secret = new TextEncoder().encode("receipt-seal-test-secret-0123456789-abcdef");
const entry = {
  status: "accepted",
  orderId: "o1",
  processedAt: 1_700_000_000_000,
  revision: 1,
  orderNumber: "SO-000001",
  heads: ["ab", "cd"],
};
const subject = {
  organization: "acme",
  key: "request:r1",
  entry,
  owner: "alice",
  requestedBy: "alice",
  sequence: 1,
};

describe("the receipt seal", () => {
  it("does not depend on key order, and verifies with the entry as Automerge gives it back", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: "x" } })).toBe(
      '{"a":{"c":"x","d":[2,{"e":0,"f":1}]},"b":1}',
    );
    const seal = sealOf(secret, subject);
    const reordered = Object.fromEntries(Object.entries(entry).reverse());
    expect(verifySeal(secret, "acme", "request:r1", reordered, seal)).toBe(true);
    // The seal itself, kept beside the entry in the ledger, is not part of what it covers.
    expect(verifySeal(secret, "acme", "request:r1", { ...entry, seal }, seal)).toBe(true);
  });

  it("fails for any other entry, key, organization, user, sequence or secret", () => {
    const seal = sealOf(secret, subject);
    expect(verifySeal(secret, "acme", "request:r1", { ...entry, orderNumber: "SO-9" }, seal)).toBe(
      false,
    );
    expect(verifySeal(secret, "acme", "request:r2", entry, seal)).toBe(false);
    expect(verifySeal(secret, "globex", "request:r1", entry, seal)).toBe(false);
    expect(verifySeal(secret, "acme", "request:r1", entry, { ...seal, owner: "bob" })).toBe(false);
    expect(verifySeal(secret, "acme", "request:r1", entry, { ...seal, sequence: 9 })).toBe(false);
    expect(verifySeal(secret, "acme", "request:r1", entry, { ...seal, mac: "x" })).toBe(false);
    expect(verifySeal(secret, "acme", "request:r1", entry, undefined)).toBe(false);
    const other = new TextEncoder().encode("another-secret-another-secret-0123456789");
    expect(verifySeal(other, "acme", "request:r1", entry, seal)).toBe(false);
  });
});
