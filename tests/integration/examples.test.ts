import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

// The examples import the built package (`oms-sync`), as a user's code does: npm test builds first.
describe("examples", () => {
  it("embed-client.ts runs: offline quote, then a complete sync", async () => {
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "examples/embed-client.ts"],
      { timeout: 60_000 },
    );
    expect(stdout).toMatch(/offline quote total: \$3,634\.20/);
    expect(stdout).toMatch(/gate: ok, 14 days left/);
    expect(stdout).toMatch(/synced: complete, pending 0/);
  });
});
