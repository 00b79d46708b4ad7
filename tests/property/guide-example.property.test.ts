// The worked example of docs/testing.md: an OMS adds its own field to quotes and checks, with
// the kit, that concurrent edits of it merge into valid documents everywhere.
import * as A from "@automerge/automerge";
import fc from "fast-check";
import { expect, it } from "vitest";
import { checkDocument, type Quote } from "../../src/docs/index.js";
import {
  defaultFieldRules,
  type FieldRule,
  parsePrincipal,
  validateWrite,
} from "../../src/policy/index.js";
import { arbQuote, healAll, propertyRuns } from "../../src/testing/index.js";

// 1. The OMS's own field and its mutation.
type DealerQuote = Quote & { dealerReference?: string };
function setDealerReference(doc: DealerQuote, reference: string): void {
  if (!/^[A-Z0-9-]{1,20}$/.test(reference))
    throw new Error(`a dealer reference is 1 to 20 of A-Z 0-9 -, got ${reference}`);
  doc.dealerReference = reference;
}

// 2. Its rule, run by the client before writing and by the relay before accepting.
const dealerReferenceRule: FieldRule = ({ after }) => {
  const ref = (after as DealerQuote).dealerReference;
  return ref === undefined || /^[A-Z0-9-]{1,20}$/.test(ref)
    ? []
    : [{ code: "FIELD_NOT_ALLOWED", path: ["dealerReference"], message: "bad dealer reference" }];
};

const alice = parsePrincipal({ sub: "alice", org: "acme", roles: ["rep"] });

// 3. The property: two devices set the reference concurrently; after merging, every replica is
// the same, passes the schema, and passes the OMS's rule.
it("concurrent dealer references merge into one valid value", () => {
  fc.assert(
    fc.property(
      arbQuote(),
      fc.stringMatching(/^[A-Z0-9-]{1,20}$/),
      fc.stringMatching(/^[A-Z0-9-]{1,20}$/),
      (quote, left, right) => {
        const base = A.change(quote, (q) => {
          q.owner = alice.userId;
          q.organization = alice.organization;
        });
        const a = A.change(A.clone(base), (q) => setDealerReference(q as DealerQuote, left));
        const b = A.change(A.clone(base), (q) => setDealerReference(q as DealerQuote, right));
        for (const merged of healAll([a, b], [0, 1])) {
          expect(A.toJS(merged)).toEqual(A.toJS(healAll([a, b], [1, 0])[0] as A.Doc<Quote>));
          expect(checkDocument(merged)).toEqual([]);
          expect(
            validateWrite({
              principal: alice,
              before: base,
              after: merged,
              fieldRules: [...defaultFieldRules, dealerReferenceRule],
            }),
          ).toEqual({ ok: true });
          expect([left, right]).toContain((merged as DealerQuote).dealerReference);
        }
      },
    ),
    { numRuns: propertyRuns(100) },
  );
});
