import * as A from "@automerge/automerge";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  asOrganizationId,
  asUserId,
  createLedger,
  deepEqual,
  type Ledger,
  type RequestId,
  recordSubmissionOutcome,
  type SubmissionOutcome,
} from "../../src/docs/index.js";
import { propertyRuns } from "../../src/testing/index.js";

const runs = propertyRuns(50);
const id = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s.trim() !== "");
const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
const base = { orderId: id, processedAt: fc.nat() };

const arbOutcome: fc.Arbitrary<SubmissionOutcome> = fc.oneof(
  fc.record({
    status: fc.constant("accepted" as const),
    ...base,
    revision: fc.integer({ min: 1, max: 99 }),
    orderNumber: id,
    heads: fc.array(hex, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    status: fc.constant("duplicate" as const),
    ...base,
    duplicateOf: id,
    revision: fc.integer({ min: 1, max: 99 }),
    orderNumber: id,
  }),
  fc.record({ status: fc.constant("rejected" as const), ...base, code: id, reason: id }),
) as fc.Arbitrary<SubmissionOutcome>;

/** The same value with every object's keys in an order chosen by `order`. */
function shuffled<T>(value: T, order: number[]): T {
  if (Array.isArray(value)) return value.map((v) => shuffled(v, order)) as T;
  if (typeof value !== "object" || value === null) return value;
  const keys = Object.keys(value);
  const picked: string[] = [];
  for (const [i, n] of order.entries()) {
    if (keys.length === 0) break;
    picked.push(...keys.splice((n + i) % keys.length, 1));
  }
  const out: Record<string, unknown> = {};
  for (const k of [...picked, ...keys])
    out[k] = shuffled((value as Record<string, unknown>)[k], order);
  return out as T;
}

const ledger = () =>
  A.from(
    createLedger({
      owner: asUserId("alice"),
      organization: asOrganizationId("acme"),
    }) as unknown as Record<string, unknown>,
  ) as A.Doc<Ledger>;
const requestId = "req-1" as RequestId;

describe("outcomes compare by structure, not by key order", () => {
  it("deepEqual: any outcome equals itself with its keys shuffled, and differs when a value does", () => {
    fc.assert(
      fc.property(arbOutcome, fc.array(fc.nat(), { maxLength: 8 }), (outcome, order) => {
        expect(deepEqual(outcome, shuffled(outcome, order))).toBe(true);
        expect(deepEqual(outcome, { ...outcome, processedAt: outcome.processedAt + 1 })).toBe(
          false,
        );
      }),
      { numRuns: runs },
    );
  });

  it("recording the same outcome again, in any key order, after Automerge sorted its keys, is a no-op", () => {
    // The relay killed between storing a ledger and marking the outcome delivered writes it again
    // on restart; that must not look like a second, different outcome.
    fc.assert(
      fc.property(arbOutcome, fc.array(fc.nat(), { maxLength: 8 }), (outcome, order) => {
        const stored = A.change(ledger(), (l) => recordSubmissionOutcome(l, requestId, outcome));
        const again = A.change(stored, (l) =>
          recordSubmissionOutcome(l, requestId, shuffled(outcome, order)),
        );
        expect(A.getHeads(again)).toEqual(A.getHeads(stored));
        expect(() =>
          A.change(stored, (l) =>
            recordSubmissionOutcome(l, requestId, { ...outcome, processedAt: -1 }),
          ),
        ).toThrow(/already has a different outcome/);
      }),
      { numRuns: runs },
    );
  });
});
