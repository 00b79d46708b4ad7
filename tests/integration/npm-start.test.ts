import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { TEST_SECRET, tempDir, waitFor } from "./helpers.js";

describe("npm start", () => {
  it("stops the relay when the npm process gets SIGTERM (nothing keeps listening)", async () => {
    const data = tempDir();
    try {
      const npm = spawn("npm", ["start", "--", "--data", data.dir, "--port", "0"], {
        env: { ...process.env, OMS_RELAY_SECRET: TEST_SECRET },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      npm.stdout?.on("data", (d) => {
        out += String(d);
      });
      npm.stderr?.on("data", (d) => {
        out += String(d);
      });
      const exited = new Promise<void>((done) => npm.on("exit", () => done()));
      await waitFor(() => /listening on ws:\/\/[^:]+:\d+/.test(out), "the relay to listen", 30_000);
      const port = Number(/listening on ws:\/\/[^:]+:(\d+)/.exec(out)?.[1]);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      npm.kill("SIGTERM");
      await exited;
      await waitFor(() => out.includes("relay stopped"), "the relay to stop", 10_000);
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    } finally {
      data.remove();
    }
  });
});
