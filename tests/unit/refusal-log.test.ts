import { Writable } from "node:stream";
import { type Logger, pino } from "pino";
import { describe, expect, it } from "vitest";
import { RefusalLog } from "../../src/relay/refusal-log.js";

function captured(): { lines: Record<string, unknown>[]; log: Logger } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n")) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, log: pino({ level: "info" }, sink) };
}

describe("RefusalLog", () => {
  it("logs the first N per connection, then one summary per interval, then the rest at close", async () => {
    const { lines, log } = captured();
    let now = 0;
    const refusals = new RefusalLog(
      log,
      { refusalLogFirst: 2, refusalLogIntervalMs: 1_000 },
      () => now,
    );
    const a = {};
    const b = {};
    for (let i = 0; i < 10; i++) refusals.refused(a, { reason: "no_access", user: "u" });
    refusals.refused(b, { reason: "no_access", user: "v" });
    now = 1_000;
    refusals.refused(a, { reason: "not_joined", user: "u" });
    refusals.refused(a, { reason: "not_joined", user: "u" });
    refusals.closed(a, "u");
    refusals.closed(b, "v");
    await new Promise((r) => setImmediate(r));
    expect(lines.filter((l) => l.msg === "message refused").map((l) => l.user)).toEqual([
      "u",
      "u",
      "v",
    ]);
    const summaries = lines.filter((l) => typeof l.suppressed === "number");
    expect(summaries.map((l) => [l.suppressed, l.reasons])).toEqual([
      [9, { no_access: 8, not_joined: 1 }],
      [1, { not_joined: 1 }],
    ]);
  });
});
