import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { runCampaign } from "./campaign.js";

// The stateful wire fuzzer (docs/security.md, "Stateful wire fuzzer"). npm test runs a short
// run; OMS_STATEFUL_FRAMES chooses the length, OMS_FUZZ_LONG=1 asserts the timing and memory
// oracles too, OMS_FUZZ_REPORT=file writes the report, OMS_FUZZ_SEED picks the mutations,
// OMS_FUZZ_REPLAY=file says where the replay file goes when an oracle fires.
const frames = Number(process.env.OMS_STATEFUL_FRAMES) || 2_000;
const long = process.env.OMS_FUZZ_LONG === "1";
const seed = Number(process.env.OMS_FUZZ_SEED) || 20261130;
const rate = Number(process.env.OMS_STATEFUL_RATE) || 600;

describe("the relay under the stateful wire fuzzer", () => {
  it(
    `keeps every oracle quiet over ${frames} frames from 14 long-lived peers`,
    async () => {
      const report = await runCampaign({
        frames,
        rate,
        seed,
        long,
        // Generous outside long mode: a loaded 2-core machine must not fail the default test.
        storeBoundMs: long ? 10_000 : 30_000,
        ...(process.env.OMS_FUZZ_REPLAY ? { replayFile: process.env.OMS_FUZZ_REPLAY } : {}),
        progressMs: Number(process.env.OMS_FUZZ_PROGRESS_MS) || (long ? 30_000 : 0),
        skip: (process.env.OMS_FUZZ_SKIP ?? "").split(",").filter(Boolean),
      });
      if (process.env.OMS_FUZZ_REPORT) {
        mkdirSync(dirname(process.env.OMS_FUZZ_REPORT), { recursive: true });
        writeFileSync(process.env.OMS_FUZZ_REPORT, `${JSON.stringify(report, null, 2)}\n`);
      }
      const fired = Object.fromEntries(Object.entries(report.oracles).filter(([, n]) => n > 0));
      expect(
        fired,
        `oracles fired (replay: npx tsx tests/fuzz/replay.ts ${report.replayFile ?? "-"}):\n${JSON.stringify(report.examples, null, 2)}`,
      ).toEqual({});
      expect(report.frames).toBeGreaterThanOrEqual(frames);
      expect(report.healthz.probes).toBeGreaterThan(0);
      expect(report.wellBehaved.stored).toBeGreaterThan(0);
      if (long) expect(report.healthz.maxMs).toBeLessThan(1_000);
    },
    3_600_000 * 2,
  );
});
