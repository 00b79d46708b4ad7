import * as A from "@automerge/automerge";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  asOrganizationId,
  asUserId,
  type CommercialDocument,
  checkDocument,
  comparePositioned,
  createOrder,
  createQuote,
  documentTotals,
  type Order,
  type Quote,
  sortedLineItems,
} from "../../src/docs/index.js";
import { transmittedView } from "../../src/policy/index.js";
import {
  arbReplicaSteps,
  continueReplicas,
  healAll,
  propertyRuns,
  runReplicas,
} from "../../src/testing/index.js";

const owner = asUserId("alice");
const organization = asOrganizationId("acme");
const runs = propertyRuns(60);

const newQuote = () =>
  A.from(
    createQuote({ owner, organization, currency: "USD", now: 1 }) as unknown as Record<
      string,
      unknown
    >,
  ) as A.Doc<Quote>;
const newOrder = () =>
  A.from(
    createOrder({ owner, organization, currency: "EUR", now: 1 }) as unknown as Record<
      string,
      unknown
    >,
  ) as A.Doc<Order>;

const arbScenario = fc.integer({ min: 2, max: 4 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    steps: arbReplicaSteps(n, 30),
    order: fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
  }),
);

/** An oracle for a line's discount that does not share code with the library. */
function oracleTotals(doc: CommercialDocument): { subtotal: bigint; discount: bigint } {
  let subtotal = 0n;
  let discount = 0n;
  for (const line of Object.values(doc.lineItems)) {
    const gross = BigInt(line.quantity) * BigInt(line.unitPrice);
    const scaled = gross * BigInt(line.discountBp);
    const whole = scaled / 10_000n;
    const rest = scaled % 10_000n;
    subtotal += gross;
    discount += rest * 2n >= 10_000n ? whole + 1n : whole;
  }
  return { subtotal, discount };
}

describe("merging concurrent edits of quotes", () => {
  it("converges, stays valid at every state, and orders lines the same everywhere", () => {
    fc.assert(
      fc.property(arbScenario, ({ n, steps, order }) => {
        const { replicas } = runReplicas(newQuote(), n, steps, (doc) => {
          expect(checkDocument(doc)).toEqual([]);
        });
        const healed = healAll(replicas, order);
        const first = healed[0] as A.Doc<Quote>;
        for (const doc of healed) {
          expect(checkDocument(doc)).toEqual([]);
          expect(A.getHeads(doc).sort()).toEqual(A.getHeads(first).sort());
          expect(A.toJS(doc)).toEqual(A.toJS(first));
          const ids = sortedLineItems(doc).map((l) => l.id);
          expect(ids).toEqual(sortedLineItems(first).map((l) => l.id));
        }
        // One strict total order: no two lines compare equal.
        const sorted = sortedLineItems(first);
        for (let i = 1; i < sorted.length; i++) {
          expect(comparePositioned(sorted[i - 1] as never, sorted[i] as never)).toBe(-1);
        }
      }),
      { numRuns: runs },
    );
  });

  it("derives exact totals, equal on every replica", () => {
    fc.assert(
      fc.property(arbScenario, ({ n, steps, order }) => {
        const healed = healAll(runReplicas(newQuote(), n, steps).replicas, order);
        const oracle = oracleTotals(healed[0] as A.Doc<Quote>);
        const exactFits = oracle.subtotal <= BigInt(Number.MAX_SAFE_INTEGER);
        // Exact, or a typed overflow error exactly when the exact amount does not fit in 2^53.
        const totals = healed.map((doc) => {
          try {
            return documentTotals(doc);
          } catch (err) {
            expect(err).toMatchObject({ code: "AMOUNT_OVERFLOW" });
            return "overflow" as const;
          }
        });
        for (const t of totals) {
          expect(t).toEqual(totals[0]);
          if (t === "overflow") {
            expect(exactFits).toBe(false);
            continue;
          }
          expect(BigInt(t.subtotal.minor)).toBe(oracle.subtotal);
          expect(BigInt(t.discount.minor)).toBe(oracle.discount);
          expect(t.total.minor).toBe(t.subtotal.minor - t.discount.minor);
          const sumOfNets = t.lines.reduce((s, l) => s + BigInt(l.net.minor), 0n);
          expect(BigInt(t.total.minor)).toBe(sumOfNets);
        }
      }),
      { numRuns: runs },
    );
  });
});

describe("the transmitted view of an order", () => {
  it("never changes after acceptance, whatever is edited and merged later", () => {
    fc.assert(
      fc.property(
        arbScenario,
        arbReplicaSteps(4, 20),
        fc.nat(3),
        ({ n, steps, order }, laterSteps, submitter) => {
          const before = runReplicas(newOrder(), n, steps).replicas;
          const who = submitter % n;
          const submitted = before[who] as A.Doc<Order>;
          const heads = A.getHeads(submitted);
          const snapshot = A.toJS(transmittedView(submitted, heads));
          // Replica indices of the later schedule are folded onto the n replicas.
          const later = laterSteps.map((s) =>
            s.kind === "act"
              ? { ...s, replica: s.replica % n }
              : { ...s, from: s.from % n, to: s.to % n },
          );
          const { replicas } = continueReplicas(before, later);
          for (const doc of healAll(replicas, order)) {
            expect(A.toJS(transmittedView(doc, heads))).toEqual(snapshot);
          }
        },
      ),
      { numRuns: runs },
    );
  });
});
