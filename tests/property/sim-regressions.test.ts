import { describe, expect, it } from "vitest";
import {
  checkAll,
  createSimWorld,
  type SimStep,
  type SimWorldOptions,
} from "../../src/testing/index.js";

// Schedules the whole-system property once failed on, replayed exactly.
const cases: [string, SimWorldOptions, SimStep[]][] = [
  [
    // Seed -864521916: a device restarted before syncing a new assistance request, and the request
    // never left it. The simulated device now loads its own documents as the client does.
    "a restart before the first sync loses nothing",
    {
      seed: 1139555123,
      users: [{ userId: "bob", organization: "acme", roles: ["manager"] }],
      devices: [0, 0],
    },
    [
      { kind: "deliver", count: 17 },
      { kind: "clock", device: 0, ms: 1727999975 },
      { kind: "act", device: 1, action: { type: "open", pick: 9 } },
      { kind: "deliver", count: 13 },
      { kind: "act", device: 0, action: { type: "create", kind: "assistance" } },
      { kind: "deliver", count: 7 },
      { kind: "restartDevice", device: 0 },
    ],
  ],
];

describe("whole-system regressions", () => {
  it.each(cases)("%s", async (_name, options, steps) => {
    const world = await createSimWorld(options);
    try {
      for (const step of steps) await world.step(step);
      await world.heal();
      expect(checkAll(world)).toEqual([]);
    } finally {
      await world.close();
    }
  });
});
