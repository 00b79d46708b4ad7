import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir, waitFor } from "./helpers.js";
import { type RelayProcess, spawnRelay } from "./relay-process.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The environment of an operator's shell: no secret, not started by npm. */
function plainEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && k !== "OMS_RELAY_SECRET" && !k.startsWith("npm_")) env[k] = v;
  }
  return { ...env, ...extra };
}

/** Runs `oms-relay ARGS` to completion. */
function cli(
  args: string[],
  env = plainEnv(),
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/relay/cli.ts", ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += String(d);
    });
    child.stderr.on("data", (d) => {
      stderr += String(d);
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

async function relayIn(dir: string, args: string[], env: Record<string, string>) {
  // spawnRelay sets OMS_RELAY_SECRET; an empty value means "not set" to the CLI.
  const relay = await spawnRelay(dir, args, 0, { OMS_RELAY_SECRET: "", ...env });
  cleanups.push(async () => {
    relay.child.kill("SIGTERM");
    await relay.exited;
  });
  await waitFor(() => /--offline\n/.test(relay.output()), "the start hint on stderr");
  return relay;
}

async function sessionStatus(relay: RelayProcess, token: string): Promise<number> {
  const res = await fetch(`${relay.httpUrl}/v1/session`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return res.status;
}

const tokenArgs = ["--sub", "alice", "--org", "acme", "--roles", "rep"];

describe("oms-relay token", () => {
  it("refuses to make up a secret: exit code 2, says how to point at the relay's secret, writes nothing", async () => {
    const data = tempDir();
    cleanups.push(data.remove);
    const run = await cli(["token", "--data", data.dir, ...tokenArgs]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/no secret to sign with/);
    expect(run.stderr).toMatch(/--secret-file/);
    expect(run.stderr).toMatch(/OMS_RELAY_SECRET/);
    expect(existsSync(join(data.dir, "relay-secret"))).toBe(false);

    const missing = await cli([
      "token",
      "--secret-file",
      join(data.dir, "nope"),
      "--data",
      data.dir,
      ...tokenArgs,
    ]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/cannot read the secret file .*nope \(ENOENT\)/);
    expect(missing.stderr).not.toMatch(/ at /);
  });

  it("signs with the data folder's secret of a running relay, says so, and the relay accepts the token", async () => {
    const data = tempDir();
    cleanups.push(data.remove);
    const relay = await relayIn(data.dir, [], {});
    expect(relay.output()).toMatch(/no secret was given, so one was generated into .*relay-secret/);
    // Not started by npm: the hint is the installed command's.
    expect(relay.output()).toMatch(/ {2}oms-relay token --data .* --sub alice/);
    expect(relay.output()).not.toMatch(/npm start/);

    const run = await cli(["token", "--data", data.dir, ...tokenArgs]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/signing with the secret from the data folder's .*relay-secret/);
    expect(await sessionStatus(relay, run.stdout.trim())).toBe(200);

    // The process metrics are named as docs/operations.md says.
    const metrics = await (await fetch(`${relay.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^oms_relay_process_cpu_user_seconds_total /m);
    expect(metrics).toMatch(/^oms_relay_nodejs_heap_size_used_bytes /m);
    expect(metrics).not.toMatch(/oms_relay_process_process_|oms_relay_process_nodejs_/);
  });

  it("names a --secret-file in its hint, and the npm form only when started by npm start", async () => {
    const data = tempDir();
    cleanups.push(data.remove);
    const secretFile = join(data.dir, "shared-secret");
    writeFileSync(secretFile, "a-shared-secret-of-at-least-32-bytes-0123456789\n");
    const relay = await relayIn(data.dir, ["--secret-file", secretFile], {
      npm_lifecycle_event: "start",
      npm_package_name: "oms-sync",
    });
    expect(relay.output()).toMatch(/using the secret from the file .*shared-secret/);
    expect(relay.output()).toMatch(/npm start -- token --secret-file .*shared-secret --sub alice/);

    const run = await cli(["token", "--secret-file", secretFile, ...tokenArgs]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/signing with the secret from the file .*shared-secret/);
    expect(await sessionStatus(relay, run.stdout.trim())).toBe(200);
  });
});
