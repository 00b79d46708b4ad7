import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkDocument } from "../../src/docs/index.js";
import {
  arbAssistanceRequest,
  arbInbox,
  arbLedger,
  arbOrder,
  arbOrganization,
  arbQuote,
  arbSimScenario,
  arbWorkspace,
  createSimWorld,
  propertyRuns,
} from "../../src/testing/index.js";

describe("the testing kit", () => {
  it.each([
    ["quote", arbQuote()],
    ["order", arbOrder()],
    ["assistance", arbAssistanceRequest()],
    ["workspace", arbWorkspace()],
    ["ledger", arbLedger()],
    ["inbox", arbInbox()],
    ["organization", arbOrganization()],
  ] as [string, fc.Arbitrary<unknown>][])(
    "generates valid %s documents",
    (_kind, arb) => {
      fc.assert(
        fc.property(arb, (doc) => {
          expect(checkDocument(doc)).toEqual([]);
        }),
        { numRuns: propertyRuns(50) },
      );
    },
    600_000,
  );

  it("replays a failing simulated run exactly from its seed and path", async () => {
    // A property that is false as soon as a submission reaches the relay: it must fail.
    const property = fc.asyncProperty(
      arbSimScenario({ maxSteps: 12 }),
      async ({ world: options, steps }) => {
        const world = await createSimWorld(options);
        try {
          for (const step of steps) await world.step(step);
          await world.heal();
          const submissions = world.relay.db
            .prepare("SELECT count(*) AS n FROM submission_requests")
            .get() as { n: number };
          return submissions.n === 0;
        } finally {
          await world.close();
        }
      },
    );
    const first = await fc.check(property, { seed: 20261125, numRuns: 200, endOnFailure: true });
    expect(first.failed).toBe(true);
    const replay = await fc.check(property, {
      seed: first.seed,
      path: first.counterexamplePath as string,
      numRuns: 1,
      endOnFailure: true,
    });
    expect(replay.failed).toBe(true);
    expect(replay.counterexample).toEqual(first.counterexample);
  }, 300_000);
});
