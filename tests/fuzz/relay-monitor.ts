import { createInterface } from "node:readline";
import { type RelayProcess, spawnRelay } from "../integration/relay-process.js";

export interface Sample {
  t: number;
  rss: number;
  peers: number;
  connections: number;
}

/** Lines of the relay's output that must never appear. */
const patterns = {
  unhandled: /unhandled rejection/i,
  panic: /RuntimeError|unreachable|panicked|PanicError/,
};

/** Reads one metric's value (summed over labels) from Prometheus text. */
export function metric(text: string, name: string): number {
  return metricOrUndefined(text, name) ?? 0;
}

/** A metric the relay always exports: its absence means a renamed metric, never zero. */
export function requiredMetric(text: string, name: string): number {
  const value = metricOrUndefined(text, name);
  if (value === undefined) throw new Error(`the relay's /metrics has no ${name}`);
  return value;
}

function metricOrUndefined(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      sum = (sum ?? 0) + (Number(line.slice(line.lastIndexOf(" ") + 1)) || 0);
  }
  return sum;
}

/** Labelled values of one metric, e.g. refusals by reason. */
export function metricByLabel(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  const re = new RegExp(`^${name}\\{[^}]*${label}="([^"]*)"[^}]*\\} (\\S+)$`);
  for (const line of text.split("\n")) {
    const m = re.exec(line);
    if (m?.[1] !== undefined) out[m[1]] = Number(m[2]);
  }
  return out;
}

/**
 * The relay's CLI in its own process, watched: its output scanned for panics and unhandled
 * rejections, /healthz timed every second, /metrics sampled every two.
 */
export class RelayMonitor {
  readonly counts = { unhandled: 0, panic: 0, lines: 0 };
  readonly examples: { unhandled?: string; panic?: string } = {};
  /** Error-level log lines by message, and the first few whole. */
  readonly errors: Record<string, number> = {};
  readonly errorExamples: string[] = [];
  readonly health = { probes: 0, failures: 0, maxMs: 0, lastFailure: "" };
  readonly samples: Sample[] = [];
  exitedWith: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  #timers: ReturnType<typeof setInterval>[] = [];
  #stopping = false;

  private constructor(readonly relay: RelayProcess) {
    for (const stream of [relay.child.stdout, relay.child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on("line", (line) => {
        this.counts.lines++;
        if (line.includes('"level":50') || line.includes('"level":60')) {
          const msg = /"msg":"([^"]{0,120})/.exec(line)?.[1] ?? line.slice(0, 120);
          this.errors[msg] = (this.errors[msg] ?? 0) + 1;
          if (this.errorExamples.length < 5) this.errorExamples.push(line.slice(0, 1_500));
        }
        for (const [key, re] of Object.entries(patterns) as [keyof typeof patterns, RegExp][])
          if (re.test(line)) {
            this.counts[key]++;
            this.examples[key] ??= line.slice(0, 1_000);
          }
      });
    }
    // A harness that dies (timeout, Ctrl-C) must not leave the relay running.
    const kill = () => relay.child.kill("SIGKILL");
    process.once("exit", kill);
    void relay.exited.then((e) => {
      process.off("exit", kill);
      if (!this.#stopping) this.exitedWith = e;
    });
  }

  static async start(dataDir: string): Promise<RelayMonitor> {
    return new RelayMonitor(await spawnRelay(dataDir));
  }

  get alive(): boolean {
    return this.exitedWith === undefined;
  }

  /** Starts timing /healthz and sampling /metrics. */
  watch(): void {
    this.#timers.push(setInterval(() => void this.probeHealth(), 1_000));
    this.#timers.push(setInterval(() => void this.sample(), 2_000));
  }

  /** One /healthz request; true if it answered 200 within the timeout. */
  async probeHealth(timeoutMs = 30_000): Promise<boolean> {
    const started = performance.now();
    this.health.probes++;
    try {
      const res = await fetch(`${this.relay.httpUrl}/healthz`, {
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer();
      this.health.maxMs = Math.max(this.health.maxMs, performance.now() - started);
      if (res.status === 200) return true;
      this.health.lastFailure = `status ${res.status}`;
    } catch (err) {
      // fetch's own message is only "fetch failed": the cause says refused, reset or timed out.
      const cause = (err as { cause?: unknown }).cause;
      this.health.lastFailure = cause ? `${String(err)} (${String(cause)})` : String(err);
    }
    this.health.failures++;
    return false;
  }

  async metricsText(): Promise<string | undefined> {
    try {
      const res = await fetch(`${this.relay.httpUrl}/metrics`, {
        signal: AbortSignal.timeout(30_000),
      });
      return await res.text();
    } catch {
      return undefined;
    }
  }

  async sample(): Promise<Sample | undefined> {
    const text = await this.metricsText();
    if (!text) return undefined;
    const s = {
      t: Date.now(),
      rss: requiredMetric(text, "oms_relay_process_resident_memory_bytes"),
      peers: metric(text, "oms_relay_peers"),
      connections: metric(text, "oms_relay_connections"),
    };
    this.samples.push(s);
    return s;
  }

  /** Stops watching, then the relay (SIGTERM), and waits for it to exit. */
  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#stopping = true;
    if (this.alive) this.relay.child.kill("SIGTERM");
    await Promise.race([this.relay.exited, new Promise((r) => setTimeout(r, 20_000))]);
    this.relay.child.kill("SIGKILL");
    // The last lines may still be in the pipe.
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** RSS growth over the second half of the samples (median of the first and last fifth of it). */
export function rssGrowth(samples: readonly Sample[]): {
  from: number;
  to: number;
  growth: number;
} {
  const half = samples.slice(Math.floor(samples.length / 2));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const fifth = Math.max(1, Math.floor(half.length / 5));
  const from = median(half.slice(0, fifth).map((s) => s.rss));
  const to = median(half.slice(-fifth).map((s) => s.rss));
  return { from, to, growth: from ? (to - from) / from : 0 };
}
