import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  arbSimScenario,
  checkAll,
  checkIsolation,
  createSimWorld,
  propertyRuns,
} from "../../src/testing/index.js";

// Each run is a relay and 2 to 4 devices exchanging real automerge-repo messages in memory;
// a fortieth of OMS_PROPERTY_RUNS (default 12).
const runs = Math.max(12, Math.floor(propertyRuns(480) / 40));

describe("the whole system under any schedule", () => {
  it("converges, stays valid, isolates users, loses nothing, answers each submission once, and keeps the gate shut", async () => {
    await fc.assert(
      fc.asyncProperty(arbSimScenario({ maxSteps: 25 }), async ({ world: options, steps }) => {
        const world = await createSimWorld(options);
        try {
          for (const step of steps) {
            await world.step(step);
            // Isolation holds at every moment, not only once the network heals.
            expect(checkIsolation(world)).toEqual([]);
          }
          await world.heal();
          expect(checkAll(world)).toEqual([]);
        } finally {
          await world.close();
        }
      }),
      { numRuns: runs, endOnFailure: true },
    );
  }, 900_000);
});
