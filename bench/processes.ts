// Processes the benches start: relays and load generators, each ready when it prints its port.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

/** Starts `node args…` and resolves with the port its first line matching `ready` names. */
export async function startProcess(
  args: readonly string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      const m = ready.exec(line);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`relay exited with ${code}`)));
  });
  return { child, port };
}

/** The oms-sync relay (its CLI, from source) on a random port of 127.0.0.1. */
export function startOmsRelay(dataDir: string, secret: string) {
  return startProcess(
    [
      "--import",
      "tsx",
      "src/relay/cli.ts",
      "--port",
      "0",
      "--data",
      dataDir,
      "--log-level",
      "info",
    ],
    { OMS_RELAY_SECRET: secret },
    /"port":(\d+).*"msg":"relay ready"/,
  );
}

/** The stock automerge-repo relay (bench/stock-relay.ts) over a NodeFS folder. */
export function startStockRelay(dir: string) {
  return startProcess(["--import", "tsx", "bench/stock-relay.ts", dir, "0"], {}, /^ready (\d+)/);
}

/** A process's resident set now (`current`) or at its peak, in MB. */
export function rssMb(pid: number, which: "current" | "peak" = "current"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = which === "peak" ? /VmHWM:\s+(\d+)/ : /VmRSS:\s+(\d+)/;
  return Math.round(Number(field.exec(status)?.[1] ?? 0) / 1024);
}
