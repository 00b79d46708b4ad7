import { tmpdir } from "node:os";
import { join } from "node:path";
import * as A from "@automerge/automerge";
import type { DocHandle } from "@automerge/automerge-repo";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import type { Quote } from "../../src/docs/index.js";
import { tempDir, waitFor, waitStored } from "../integration/helpers.js";
import { flaky, fuzzers, type Person, steady, submitters, tokenFor } from "./cast.js";
import { Findings, type OracleName } from "./findings.js";
import { FuzzPeer } from "./fuzz-peer.js";
import { HistoryRecorder } from "./history.js";
import { FlakyDevice, ownedQuote, SteadyEditor, Submitter, withTimeout } from "./honest.js";
import { type Mutator, mutators } from "./mutators.js";
import { metricByLabel, RelayMonitor, requiredMetric, rssGrowth } from "./relay-monitor.js";
import { bump, seededRandom, type World } from "./world.js";

export interface CampaignOptions {
  /** Frames the fuzzing peers send in all. */
  frames: number;
  /** Stops the fuzzing phase after this many seconds even if frames remain (a rate measurement). */
  seconds?: number;
  /** Frames per second at most (all peers together). */
  rate: number;
  seed: number;
  /** Long mode: the timing and memory oracles are asserted too. */
  long: boolean;
  /** How long a well-behaved edit may take to be stored. */
  storeBoundMs: number;
  /** Where to write the replay file when an oracle fires. */
  replayFile?: string;
  /** Progress lines on stderr every this many ms (0: none). */
  progressMs?: number;
  /** Mutators left out (by name), e.g. to measure the rate without a known hang. */
  skip?: readonly string[];
}

export interface CampaignReport {
  frames: number;
  seconds: number;
  framesPerSecond: number;
  seed: number;
  rate: number;
  long: boolean;
  oracles: Record<OracleName, number>;
  examples: Partial<Record<OracleName, string[]>>;
  replayFile?: string;
  mutations: Record<string, number>;
  stats: Record<string, number>;
  healthz: { probes: number; failures: number; maxMs: number };
  /**
   * CPU seconds of the harness and of the relay during the fuzzing phase, and per frame: what
   * the rate would be with two cores to themselves, whatever else the machine was running.
   */
  cpu: {
    harnessSeconds: number;
    relaySeconds: number;
    harnessMsPerFrame: number;
    relayMsPerFrame: number;
    framesPerSecondOnTwoIdleCores: number;
  };
  rss: { samples: number; firstMb: number; maxMb: number; secondHalfGrowth: number };
  wellBehaved: { edits: number; stored: number; maxStoreMs: number };
  flaky: { writes: number; reconnectFailures: number };
  submissions: { requested: number; decided: number; errors: number };
  relayLog: {
    lines: number;
    unhandled: number;
    panic: number;
    errors: Record<string, number>;
    errorExamples: string[];
  };
  refusals: Record<string, number>;
  documentsRecorded: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function seedDocuments(
  url: string,
  person: Person,
): Promise<{ id: string; binary: Uint8Array }[]> {
  const adapter = new WebSocketClientAdapter(
    `${url}/?token=${encodeURIComponent(await tokenFor(person))}`,
    // Not shorter: the stock adapter opens a new socket every interval while one is pending, and
    // a slow relay would then see dozens per user (and answer 429, which the adapter throws).
    5_000,
  );
  const repo = new Repo({ network: [adapter] });
  await waitFor(() => repo.peers.length > 0, `${person.user} to connect`, 30_000);
  const relayPeer = repo.peers[0] as string;
  const seeds: { id: string; binary: Uint8Array }[] = [];
  for (let i = 0; i < 2; i++) {
    const handle = await ownedQuote(repo, relayPeer, person);
    seeds.push({ id: handle.documentId, binary: A.save(handle.doc()) });
  }
  await repo.shutdown();
  return seeds;
}

/** After the run: each owner can still edit each of its documents, and the relay stores it. */
/** The replay's first step: the seeded documents, stored by their owners under the same ids. */
export async function restoreSeeds(
  url: string,
  seeds: Record<string, string>,
  owners: Map<string, Person>,
): Promise<void> {
  const byOwner = new Map<Person, string[]>();
  for (const id of Object.keys(seeds)) {
    const owner = owners.get(id);
    if (owner) byOwner.set(owner, [...(byOwner.get(owner) ?? []), id]);
  }
  for (const [person, ids] of byOwner) {
    const adapter = new WebSocketClientAdapter(
      `${url}/?token=${encodeURIComponent(await tokenFor(person))}`,
      5_000,
    );
    const repo = new Repo({ network: [adapter] });
    await waitFor(() => repo.peers.length > 0, `${person.user} to connect`, 30_000);
    const relayPeer = repo.peers[0] as string;
    for (const id of ids) {
      const handle = repo.import<Quote>(new Uint8Array(Buffer.from(seeds[id] ?? "", "base64")), {
        docId: id as never,
      });
      await waitStored(repo, handle as DocHandle<unknown>, relayPeer);
    }
    await repo.shutdown();
  }
}

export async function stillEditable(
  url: string,
  person: Person,
  ids: string[],
  findings: Findings,
) {
  const adapter = new WebSocketClientAdapter(
    `${url}/?token=${encodeURIComponent(await tokenFor(person))}`,
    // Not shorter: the stock adapter opens a new socket every interval while one is pending, and
    // a slow relay would then see dozens per user (and answer 429, which the adapter throws).
    5_000,
  );
  const repo = new Repo({ network: [adapter] });
  try {
    await waitFor(() => repo.peers.length > 0, `${person.user} to connect`, 30_000);
    const relayPeer = repo.peers[0] as string;
    await Promise.all(
      ids.map(async (id) => {
        try {
          const handle = await withTimeout(repo.find<Quote>(`automerge:${id}` as never), 30_000);
          handle.change((q) => {
            q.notes = "edited after the fuzz run";
          });
          await withTimeout(waitStored(repo, handle as DocHandle<unknown>, relayPeer), 30_000);
        } catch (err) {
          findings.add(
            "notEditableAfter",
            `${person.user} could not edit and store ${id} after the run: ${String(err)}`,
            id,
          );
        }
      }),
    );
  } catch (err) {
    for (const id of ids)
      findings.add(
        "notEditableAfter",
        `${person.user} could not connect after the run: ${err}`,
        id,
      );
  } finally {
    await repo.shutdown().catch(() => {});
  }
}

function chooser(world: World, skip: readonly string[]): () => Mutator {
  const chosen = mutators.filter((m) => !skip.includes(m.name));
  const total = chosen.reduce((s, m) => s + m.weight, 0);
  return () => {
    let r = world.random() * total;
    for (const m of chosen) {
      r -= m.weight;
      if (r <= 0) return m;
    }
    return mutators[0] as Mutator;
  };
}

/**
 * The stateful wire fuzzer: a relay process, 14 fuzzing peers (7 users in 3 organizations, two
 * sockets each) holding real documents in real sync conversations and mutating on top of them,
 * beside a well-behaved editor, a flaky device and three submitting users; then the oracles.
 */
export async function runCampaign(o: CampaignOptions): Promise<CampaignReport> {
  const data = tempDir("oms-fuzz-stateful-");
  const monitor = await RelayMonitor.start(data.dir);
  const url = monitor.relay.url;
  const findings = new Findings();
  const owners = new Map<string, Person>();
  const known = new Set<string>();
  const history = new HistoryRecorder(known);
  const world: World = {
    url,
    relayPeerId: "",
    history,
    findings,
    owners,
    livePeers: new Map(),
    recent: [],
    stats: {},
    frames: 0,
    random: seededRandom(o.seed),
    running: true,
  };
  const mutationCounts: Record<string, number> = {};
  const replayFile = o.replayFile ?? join(tmpdir(), `oms-fuzz-replay-${Date.now()}.json`);
  let replayWritten = false;
  const writeReplay = () => {
    history.relayPeerId = world.relayPeerId;
    for (const [id, owner] of owners) history.owners[id] = owner.user;
    history.write(replayFile, findings as never);
    replayWritten = true;
  };
  let steadyEditor: SteadyEditor | undefined;
  const flakyDevice = new FlakyDevice(url, flaky);
  const subs: Submitter[] = [];
  const started = Date.now();
  let fuzzSeconds = 0;
  const cpu = { harnessSeconds: 0, relaySeconds: 0 };
  // The stock client adapter throws a refused upgrade (401, 429) out of an event handler: count it
  // and go on, as a browser would, rather than lose the run.
  const uncaught = (err: Error) => bump(world, `clientErrors:${String(err.message).slice(0, 60)}`);
  process.on("uncaughtException", uncaught);
  try {
    const seeded = await Promise.all(fuzzers.map((p) => seedDocuments(url, p)));
    fuzzers.forEach((p, i) => {
      for (const { id, binary } of seeded[i] ?? []) {
        owners.set(id, p);
        known.add(id);
        history.seeds[id] = Buffer.from(binary).toString("base64");
      }
    });
    const peers: FuzzPeer[] = [];
    for (const person of fuzzers) {
      const docs = [...owners]
        .filter(
          ([, owner]) =>
            owner.user === person.user ||
            (person.roles.includes("manager") && owner.org === person.org),
        )
        .map(([id]) => id);
      for (const slot of [1, 2]) peers.push(new FuzzPeer(world, person, slot, docs));
    }
    await Promise.all(peers.map((p) => p.connect()));
    await waitFor(
      () => peers.every((p) => p.held.size === p.documents.length),
      "every fuzzing peer to hold its documents",
      60_000,
    ).catch(() => bump(world, "peersNotReadyAtStart"));

    steadyEditor = await SteadyEditor.start(url, steady, findings, o.storeBoundMs);
    owners.set(steadyEditor.handle.documentId, steady);
    known.add(steadyEditor.handle.documentId);
    flakyDevice.start();
    for (const p of submitters) subs.push(await Submitter.start(monitor.relay.httpUrl, p));
    monitor.watch();

    // ---- the fuzzing phase ----------------------------------------------------------------
    const relayCpu = async () =>
      requiredMetric((await monitor.metricsText()) ?? "", "oms_relay_process_cpu_seconds_total");
    const relayCpuBefore = await relayCpu();
    const harnessCpuBefore = process.cpuUsage();
    const fuzzStart = Date.now();
    const next = chooser(world, o.skip ?? []);
    let progressAt = Date.now();
    const budget = o.frames;
    const stopAt = o.seconds ? fuzzStart + o.seconds * 1_000 : Number.POSITIVE_INFINITY;
    const loop = async (peer: FuzzPeer) => {
      while (world.running && world.frames < budget && Date.now() < stopAt) {
        if (!monitor.alive) {
          findings.add("relayExited", `the relay exited: ${JSON.stringify(monitor.exitedWith)}`);
          world.running = false;
          break;
        }
        const due = fuzzStart + (world.frames / o.rate) * 1_000;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        else await new Promise((r) => setImmediate(r));
        if (!peer.conn?.open) {
          bump(world, "reconnects");
          if (!(await peer.connect())) {
            bump(world, "reconnectFailures");
            await sleep(200);
            continue;
          }
        }
        const m = next();
        mutationCounts[m.name] = (mutationCounts[m.name] ?? 0) + 1;
        if (m.side) {
          if (peer.sideTasks >= 2) continue;
          peer.sideTasks++;
          void (async () => m.run(peer, world))()
            .catch(() => bump(world, `mutatorError:${m.name}`))
            .finally(() => peer.sideTasks--);
        } else {
          try {
            await m.run(peer, world);
          } catch {
            bump(world, `mutatorError:${m.name}`);
          }
        }
        await peer.conn?.drain();
        if (++peer.sinceProbe >= 25 && world.frames < budget) {
          peer.sinceProbe = 0;
          // A socket whose queue stays stuck is replaced, as a client would after a timeout.
          if (!(await peer.probe(10_000))) {
            bump(world, "probeTimeouts");
            peer.conn?.terminate();
          }
        }
        if (o.progressMs && Date.now() - progressAt > o.progressMs) {
          progressAt = Date.now();
          const s = (Date.now() - fuzzStart) / 1_000;
          process.stderr.write(
            `stateful fuzz: ${world.frames} frames in ${s.toFixed(0)} s (${(world.frames / s).toFixed(0)}/s), found ${JSON.stringify(findings.fired())}\n`,
          );
        }
      }
    };
    await Promise.all(peers.map(loop));
    fuzzSeconds = (Date.now() - fuzzStart) / 1_000;
    world.running = false;
    const harnessCpu = process.cpuUsage(harnessCpuBefore);
    cpu.harnessSeconds = (harnessCpu.user + harnessCpu.system) / 1e6;
    cpu.relaySeconds = (await relayCpu()) - relayCpuBefore;
    await waitFor(() => peers.every((p) => p.sideTasks === 0), "side mutations", 10_000).catch(
      () => {},
    );
    for (const p of peers) p.conn?.terminate();

    // ---- after the run: the oracles that need the honest clients --------------------------
    if (monitor.alive) {
      const editor = steadyEditor;
      const [, , decided] = await Promise.all([
        editor.stop(),
        flakyDevice.finish(findings, 60_000),
        Promise.all(subs.map((s) => s.finish(findings, o.long ? 120_000 : 60_000))),
        Promise.all(
          fuzzers.map((p) =>
            stillEditable(
              url,
              p,
              [...owners].filter(([, o]) => o === p).map(([id]) => id),
              findings,
            ),
          ),
        ),
      ]);
      world.stats.decided = decided.reduce((n, d) => n + d.decided, 0);
      // With every socket closed, no peer may still be joined.
      await waitFor(
        async () => (await monitor.sample())?.connections === 0,
        "every connection to close",
        15_000,
      ).catch(() => {});
      const last = await monitor.sample();
      if (last && last.peers > last.connections)
        findings.add(
          "phantomPeers",
          `after every socket closed the relay still counts ${last.peers} joined peers for ${last.connections} connections`,
        );
      if (!(await monitor.probeHealth()))
        findings.add("healthzFailed", "/healthz did not answer at the end");
    } else {
      findings.add("relayExited", `the relay exited: ${JSON.stringify(monitor.exitedWith)}`);
    }
    for (const s of monitor.samples)
      if (s.peers > s.connections) {
        findings.add(
          "phantomPeers",
          `the relay counted ${s.peers} joined peers for ${s.connections} open connections`,
        );
      }
    if (monitor.health.failures > 0)
      findings.add(
        "healthzFailed",
        `${monitor.health.failures} of ${monitor.health.probes} /healthz probes failed (last: ${monitor.health.lastFailure})`,
      );
    const refusals = metricByLabel(
      (await monitor.metricsText()) ?? "",
      "oms_relay_refusals_total",
      "reason",
    );
    await monitor.stop();
    findings.set("unhandledRejectionLog", monitor.counts.unhandled, monitor.examples.unhandled);
    findings.set("panicLog", monitor.counts.panic, monitor.examples.panic);
    const growth = rssGrowth(monitor.samples);
    if (o.long && growth.growth > 0.1)
      findings.add(
        "rssGrowth",
        `RSS grew ${(growth.growth * 100).toFixed(1)} % over the second half (${(growth.from / 2 ** 20).toFixed(0)} → ${(growth.to / 2 ** 20).toFixed(0)} MB)`,
      );
    if (Object.keys(findings.fired()).length > 0) writeReplay();
    const rssValues = monitor.samples.map((s) => s.rss);
    return {
      frames: world.frames,
      seconds: Math.round((Date.now() - started) / 1_000),
      framesPerSecond: Math.round(world.frames / Math.max(fuzzSeconds, 0.001)),
      seed: o.seed,
      rate: o.rate,
      long: o.long,
      oracles: findings.counts,
      examples: findings.examples,
      ...(replayWritten ? { replayFile } : {}),
      mutations: mutationCounts,
      stats: world.stats,
      healthz: {
        probes: monitor.health.probes,
        failures: monitor.health.failures,
        maxMs: Math.round(monitor.health.maxMs),
      },
      cpu: (() => {
        const per = (x: number) => (x * 1_000) / Math.max(world.frames, 1);
        const h = per(cpu.harnessSeconds);
        const r = per(cpu.relaySeconds);
        return {
          harnessSeconds: Math.round(cpu.harnessSeconds),
          relaySeconds: Math.round(cpu.relaySeconds),
          harnessMsPerFrame: Math.round(h * 100) / 100,
          relayMsPerFrame: Math.round(r * 100) / 100,
          // Two cores: the harness and the relay each run on one thread, so the slower one bounds.
          framesPerSecondOnTwoIdleCores: Math.round(1_000 / Math.max(h, r, 0.001)),
        };
      })(),
      rss: {
        samples: rssValues.length,
        firstMb: Math.round((rssValues[0] ?? 0) / 2 ** 20),
        maxMb: Math.round(Math.max(0, ...rssValues) / 2 ** 20),
        secondHalfGrowth: Math.round(growth.growth * 1_000) / 1_000,
      },
      wellBehaved: {
        edits: steadyEditor.edits,
        stored: steadyEditor.stored,
        maxStoreMs: steadyEditor.maxStoreMs,
      },
      flaky: { writes: flakyDevice.writes, reconnectFailures: flakyDevice.failures },
      submissions: {
        requested: subs.reduce((n, s) => n + s.requests.length + s.assistance.length, 0),
        decided: world.stats.decided ?? 0,
        errors: subs.reduce((n, s) => n + s.errors, 0),
      },
      relayLog: {
        ...monitor.counts,
        errors: monitor.errors,
        errorExamples: monitor.errorExamples,
      },
      refusals,
      documentsRecorded: history.documents,
    };
  } finally {
    process.off("uncaughtException", uncaught);
    world.running = false;
    if (monitor.alive) await monitor.stop();
    data.remove();
  }
}
