import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { TEST_SECRET } from "./helpers.js";

/** The relay's CLI in a child process, as an operator runs it. */
export interface RelayProcess {
  child: ChildProcess;
  port: number;
  url: string;
  httpUrl: string;
  peerId: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines the process wrote (stdout and stderr), for failure messages. */
  output(): string;
}

export async function spawnRelay(
  dataDir: string,
  extraArgs: string[] = [],
  port = 0,
  env: Record<string, string> = {},
): Promise<RelayProcess> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "src/relay/cli.ts",
      "--port",
      String(port),
      "--data",
      dataDir,
      "--log-level",
      "info",
      ...extraArgs,
    ],
    {
      env: { ...process.env, OMS_RELAY_SECRET: TEST_SECRET, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  let stderr = "";
  const tail: string[] = [];
  const keep = (d: unknown) => {
    tail.push(String(d));
    if (tail.length > 200) tail.shift();
  };
  child.stderr?.on("data", (d) => {
    stderr += String(d);
    keep(d);
  });
  child.stdout?.on("data", keep);
  let late: ReturnType<typeof setTimeout> | undefined;
  const ready = await new Promise<{ port: number }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === "relay ready" && entry.port) {
          clearTimeout(late);
          resolve({ port: entry.port });
        }
      } catch {
        // not a log line
      }
    });
    void exited.then(({ code }) =>
      reject(new Error(`relay exited with ${code} before it was ready: ${stderr}`)),
    );
    // A relay starts in 2 to 5 s; a machine loaded 15 to 30 (shared CI) has taken over 20.
    late = setTimeout(() => {
      // A relay that comes up after this would be left running with nobody to stop it.
      child.kill("SIGKILL");
      reject(new Error(`relay did not start in 60 s: ${stderr}`));
    }, 60_000);
  });
  const httpUrl = `http://127.0.0.1:${ready.port}`;
  const session = await fetch(`${httpUrl}/healthz`);
  if (session.status !== 200) throw new Error("relay not healthy");
  return {
    child,
    port: ready.port,
    url: `ws://127.0.0.1:${ready.port}`,
    httpUrl,
    peerId: "",
    exited,
    output: () => tail.join(""),
  };
}
