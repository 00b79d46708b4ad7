// `tsx bench/relay-capacity.ts [--quick]`: one oms-sync relay node's capacity. (1) Idle WebSocket
// connections held, from a separate load process, and the relay's memory per connection.
// (2) Sustained edits a second with their device-to-device propagation time, the rate stepped
// up until p99 passes 50 ms (where latency bends). Prints one JSON line (with `md`).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { rssMb, startOmsRelay } from "./processes.js";

const quick = process.argv.includes("--quick");
const CONNECTIONS = quick ? [100, 500] : [1_000, 5_000, 10_000];
const RATES = quick ? [20, 50] : [25, 50, 100, 200, 400, 800, 1_600];
const SECONDS = quick ? 3 : 8;
/** The goal of issue 19: p99 edit propagation under this. */
const P99_GOAL_MS = 50;
const SECRET = "bench-secret-bench-secret-bench-secret-0123";
const log = (line: string) => process.stderr.write(`relay capacity: ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The load process, driven by one JSON command a line (bench/capacity-load.ts). */
function startLoad(url: string) {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--max-old-space-size=4096",
      "--import",
      "tsx",
      "bench/capacity-load.ts",
      "--url",
      url,
      "--secret",
      SECRET,
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const answers = createInterface({ input: child.stdout as NodeJS.ReadableStream })[
    Symbol.asyncIterator
  ]();
  return {
    child,
    async ask<T>(command: object): Promise<T> {
      child.stdin?.write(`${JSON.stringify(command)}\n`);
      const { value, done } = await answers.next();
      if (done) throw new Error("the load process exited");
      return JSON.parse(value) as T;
    },
    stop: () => child.kill("SIGTERM"),
  };
}

async function withRelay<T>(body: (url: string, pid: number) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "oms-capacity-"));
  const relay = await startOmsRelay(dir, SECRET);
  try {
    return await body(`ws://127.0.0.1:${relay.port}`, relay.child.pid as number);
  } finally {
    relay.child.kill("SIGTERM");
    await sleep(300);
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Held {
  target: number;
  held: number;
  failed: number;
  ms: number;
  relayRssMb: number;
  kbPerConnection: number;
}
const connections = await withRelay(async (url, pid) => {
  await sleep(1_000);
  const baseMb = rssMb(pid);
  const load = startLoad(url);
  const steps: Held[] = [];
  try {
    for (const target of CONNECTIONS) {
      const r = await load.ask<{ held: number; failed: number; ms: number }>({ connect: target });
      await sleep(2_000);
      const relayRssMb = rssMb(pid);
      steps.push({
        target,
        ...r,
        relayRssMb,
        kbPerConnection: Math.round(((relayRssMb - baseMb) * 1024) / Math.max(1, r.held)),
      });
      log(`connections: ${JSON.stringify(steps.at(-1))}`);
    }
  } finally {
    load.stop();
  }
  return { baseMb, steps };
});

interface Step {
  rate: number;
  achieved: number;
  orders: number;
  sent: number;
  arrived: number;
  notSeenAlone: number;
  p50: number;
  p99: number;
  max: number;
  relayCpuPercent: number;
  loadCpuPercent: number;
}
const edits = await withRelay(async (url, pid) => {
  const load = startLoad(url);
  const steps: Step[] = [];
  try {
    for (const rate of RATES) {
      // Devices for this rate are connected before the clock starts (an edit-free warm-up).
      await load.ask({ edits: rate, seconds: 2 });
      const relayCpu = cpuSeconds(pid);
      const loadCpu = cpuSeconds(load.child.pid as number);
      const started = performance.now();
      const r = await load.ask<Omit<Step, "relayCpuPercent" | "loadCpuPercent">>({
        edits: rate,
        seconds: SECONDS,
      });
      const wall = (performance.now() - started) / 1000;
      steps.push({
        ...r,
        relayCpuPercent: Math.round(((cpuSeconds(pid) - relayCpu) / wall) * 100),
        loadCpuPercent: Math.round(((cpuSeconds(load.child.pid as number) - loadCpu) / wall) * 100),
      });
      log(`edits: ${JSON.stringify(steps.at(-1))}`);
      // Past the bend, one step is enough to show it; a relay that falls behind ends the run.
      if (r.p99 > 4 * P99_GOAL_MS || r.achieved < 0.8 * rate || r.arrived < 0.5 * r.sent) break;
    }
  } finally {
    load.stop();
  }
  return steps;
});

const withinGoal = edits.filter((s) => s.p99 < P99_GOAL_MS);
const sustained = withinGoal.at(-1);
const bend = edits.find((s) => !(s.p99 < P99_GOAL_MS));
const perConnection = connections.steps.at(-1);
const ms = (x: number) => (Number.isNaN(x) ? "–" : x.toFixed(1));
const md = [
  "### One relay node's capacity",
  "",
  `The oms-sync relay (its CLI, SQLite in a temporary folder) in one process; the load in another on the same machine (${CONNECTIONS.join(", ")} idle connections, each joined as automerge-repo's client does, users of 40 connections each; then two devices of one rep sharing up to 10 orders, each order edited every 500 ms at most, the other device timing when it sees each edit, ${SECONDS} s a rate). Relay RSS with no connection: ${connections.baseMb} MB.`,
  "",
  "| idle connections asked | held | failed | time to open, s | relay RSS, MB | relay KB per connection |",
  "| ---: | ---: | ---: | ---: | ---: | ---: |",
  ...connections.steps.map(
    (s) =>
      `| ${s.target} | ${s.held} | ${s.failed} | ${(s.ms / 1000).toFixed(1)} | ${s.relayRssMb} | ${s.kbPerConnection} |`,
  ),
  "",
  "| edits/s asked | achieved | orders | arrived / sent | p50 ms | p99 ms | max ms | relay CPU % | load CPU % |",
  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...edits.map(
    (s) =>
      `| ${s.rate} | ${s.achieved} | ${s.orders} | ${s.arrived} / ${s.sent} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.max)} | ${s.relayCpuPercent} | ${s.loadCpuPercent} |`,
  ),
  "",
  `Sustained with p99 propagation under ${P99_GOAL_MS} ms: ${sustained ? `${sustained.achieved} edits/s (p99 ${ms(sustained.p99)} ms)` : "none of the rates tried"}; latency bends at ${bend ? `${bend.rate} edits/s (p99 ${ms(bend.p99)} ms)` : `none of the rates tried (up to ${RATES.at(-1)} edits/s)`}. Idle connections: ${perConnection ? `${perConnection.held} held, about ${perConnection.kbPerConnection} KB of relay memory each` : "–"}. "arrived" counts edits the other device saw as such; an edit overtaken by the next edit of its order before it arrived is not counted (automerge-repo sends the two as one).`,
  "",
];
process.stdout.write(`${JSON.stringify({ connections, edits, sustained, bend, md })}\n`);
process.exit(0);
