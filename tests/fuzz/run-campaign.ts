import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { runCampaign } from "./campaign.js";

// The stateful fuzzer outside vitest: `npx tsx tests/fuzz/run-campaign.ts` with the same
// variables as the test (OMS_STATEFUL_FRAMES, OMS_STATEFUL_RATE, OMS_FUZZ_SEED, OMS_FUZZ_LONG,
// OMS_FUZZ_SKIP, OMS_FUZZ_REPORT, OMS_FUZZ_REPLAY; OMS_STATEFUL_SECONDS ends the fuzzing phase after
// that many seconds, for a rate measurement). Exits 1 when an oracle fired.
const env = process.env;
const long = env.OMS_FUZZ_LONG === "1";
const report = await runCampaign({
  frames: Number(env.OMS_STATEFUL_FRAMES) || 2_000,
  rate: Number(env.OMS_STATEFUL_RATE) || 600,
  seed: Number(env.OMS_FUZZ_SEED) || 20261130,
  long,
  storeBoundMs: long ? 10_000 : 30_000,
  progressMs: Number(env.OMS_FUZZ_PROGRESS_MS) || 10_000,
  ...(env.OMS_STATEFUL_SECONDS ? { seconds: Number(env.OMS_STATEFUL_SECONDS) } : {}),
  skip: (env.OMS_FUZZ_SKIP ?? "").split(",").filter(Boolean),
  ...(env.OMS_FUZZ_REPLAY ? { replayFile: env.OMS_FUZZ_REPLAY } : {}),
});
const text = `${JSON.stringify(report, null, 2)}\n`;
if (env.OMS_FUZZ_REPORT) {
  mkdirSync(dirname(env.OMS_FUZZ_REPORT), { recursive: true });
  writeFileSync(env.OMS_FUZZ_REPORT, text);
}
process.stderr.write(text);
process.exit(Object.values(report.oracles).some((n) => n > 0) ? 1 : 0);
