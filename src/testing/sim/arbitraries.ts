import fc from "fast-check";
import { DAY_MS } from "../../policy/staleness-gate.js";
import { arbDocumentAction } from "../arbitraries.js";
import type { SimAction, SimStep, SimUser, SimWorldOptions } from "./sim-world.js";

export const arbSimAction = (): fc.Arbitrary<SimAction> =>
  fc.oneof(
    {
      weight: 2,
      arbitrary: fc.record({
        type: fc.constant("create" as const),
        kind: fc.constantFrom("quote" as const, "order" as const, "assistance" as const),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        type: fc.constant("edit" as const),
        pick: fc.nat(5),
        action: arbDocumentAction(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ type: fc.constant("submit" as const), pick: fc.nat(5) }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant("open" as const), pick: fc.nat(9) }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant("forge" as const), pick: fc.nat(5) }) },
  );

/** Steps of a schedule for `devices` devices. */
export const arbSimStep = (devices: number): fc.Arbitrary<SimStep> => {
  const device = fc.nat(devices - 1);
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({ kind: fc.constant("act" as const), device, action: arbSimAction() }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant("deliver" as const),
        count: fc.integer({ min: 1, max: 20 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("duplicate" as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("fail" as const), device }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("connect" as const), device }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("restartDevice" as const), device }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("restartRelay" as const) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("clock" as const),
        device,
        ms: fc.integer({ min: -20 * DAY_MS, max: 20 * DAY_MS }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("sync" as const), device }) },
  );
};

const arbUser = (organizations: readonly string[]): fc.Arbitrary<SimUser> =>
  fc.record({
    userId: fc.constantFrom("alice", "bob", "carol"),
    organization: fc.constantFrom(...organizations),
    roles: fc.constantFrom(["rep"], ["manager"]),
  });

/** A world (1 to 3 users in 1 or 2 organizations, 2 to 4 devices) and a schedule for it. */
export const arbSimScenario = (options: { maxSteps?: number } = {}) =>
  fc
    .record({
      organizations: fc.constantFrom(["acme"], ["acme", "globex"]),
      userCount: fc.integer({ min: 1, max: 3 }),
      deviceCount: fc.integer({ min: 2, max: 4 }),
    })
    .chain(({ organizations, userCount, deviceCount }) =>
      fc.record({
        world: fc.record({
          seed: fc.integer(),
          users: fc.uniqueArray(arbUser(organizations), {
            minLength: userCount,
            maxLength: userCount,
            selector: (u) => u.userId,
          }),
          devices: fc.array(fc.nat(userCount - 1), {
            minLength: deviceCount,
            maxLength: deviceCount,
          }),
        }) as fc.Arbitrary<SimWorldOptions>,
        steps: fc.array(arbSimStep(deviceCount), { maxLength: options.maxSteps ?? 25 }),
      }),
    );
