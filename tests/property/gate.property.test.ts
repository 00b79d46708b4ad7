import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DAY_MS, evaluateGate, observeClock } from "../../src/policy/index.js";
import { propertyRuns } from "../../src/testing/index.js";

const runs = propertyRuns(200);

// A clock move: forward or back by up to 40 days, or a jump to an absolute time.
const arbClockMove = fc.oneof(
  fc.integer({ min: -40 * DAY_MS, max: 40 * DAY_MS }).map((delta) => ({ delta })),
  fc.integer({ min: 0, max: 2_000_000_000_000 }).map((at) => ({ at })),
);

describe("the staleness gate under clock moves", () => {
  it("never reports a lower age, nor unblocks, without a complete sync", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_500_000_000_000, max: 1_900_000_000_000 }),
        fc.array(arbClockMove, { maxLength: 40 }),
        (syncedAt, moves) => {
          const lastSync = { relayTime: syncedAt, localTime: syncedAt };
          let now = syncedAt;
          let highest = syncedAt;
          let previous = evaluateGate({ lastSync, now, highestLocalSeen: highest });
          for (const move of moves) {
            now = "delta" in move ? now + move.delta : move.at;
            highest = observeClock(highest, now);
            const state = evaluateGate({ lastSync, now, highestLocalSeen: highest });
            expect(state.ageMs as number).toBeGreaterThanOrEqual(previous.ageMs as number);
            if (previous.level === "blocked") expect(state.level).toBe("blocked");
            if (previous.level === "warn") expect(state.level).not.toBe("ok");
            previous = state;
          }
        },
      ),
      { numRuns: runs },
    );
  });
});
