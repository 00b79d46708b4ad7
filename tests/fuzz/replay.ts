import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { cbor } from "@automerge/automerge-repo";
import { tempDir } from "../integration/helpers.js";
import { restoreSeeds, stillEditable } from "./campaign.js";
import { fuzzers, type Person, personOf } from "./cast.js";
import { Findings } from "./findings.js";
import { Connection, freshPeerId } from "./fuzz-peer.js";
import { HistoryRecorder, type ReplayFile } from "./history.js";
import { forgedToken } from "./mutators.js";
import { RelayMonitor } from "./relay-monitor.js";
import { seededRandom, type World } from "./world.js";

const HELP = `Replays a stateful fuzz run's recorded frames against a fresh relay.

Usage: npx tsx tests/fuzz/replay.ts FILE [--doc ID] [--speed N]

  FILE        the replay file the run wrote when an oracle fired
  --doc ID    only the frames about this document (and every frame about no document: joins)
  --speed N   1 (default) keeps the recorded timing, 10 is ten times faster, 0 sends at once

Stores the seeded documents first, then re-sends. Checks the oracles a run checks on the wire
and in the log (relay alive, /healthz, leaks, forged notices, panics, unhandled rejections),
then whether each seeded document is still editable and whether joined peers outnumber open
connections; exits 1 if one fired.`;

/** Replaces every string equal to `from` inside a decoded CBOR value. */
function substitute(value: unknown, from: string, to: string): unknown {
  if (value === from) return to;
  if (Array.isArray(value)) return value.map((v) => substitute(v, from, to));
  if (
    value &&
    typeof value === "object" &&
    !(value instanceof Uint8Array) &&
    !(value instanceof Map)
  )
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, from, to)]));
  return value;
}

function retarget(bytes: Uint8Array, from: string, to: string): Uint8Array {
  if (!from || !Buffer.from(bytes).includes(from)) return bytes;
  try {
    return cbor.encode(substitute(cbor.decode(bytes), from, to));
  } catch {
    return bytes;
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { doc: { type: "string" }, speed: { type: "string" }, help: { type: "boolean" } },
  });
  const file = positionals[0];
  if (values.help || !file) {
    process.stdout.write(`${HELP}\n`);
    return values.help ? 0 : 2;
  }
  const replay = JSON.parse(readFileSync(file, "utf8")) as ReplayFile;
  const speed = values.speed === undefined ? 1 : Number(values.speed);
  const entries = replay.entries.filter((e) => !values.doc || !e.doc || e.doc === values.doc);
  const data = tempDir("oms-fuzz-replay-");
  const monitor = await RelayMonitor.start(data.dir);
  monitor.watch();
  const findings = new Findings();
  const owners = new Map<string, Person>();
  for (const [id, user] of Object.entries(replay.owners ?? {})) {
    const p = personOf(user);
    if (p) owners.set(id, p);
  }
  const world: World = {
    url: monitor.relay.url,
    relayPeerId: "",
    history: new HistoryRecorder(new Set(owners.keys())),
    findings,
    owners,
    livePeers: new Map(),
    recent: [],
    stats: {},
    frames: 0,
    random: seededRandom(1),
    running: true,
  };
  await restoreSeeds(monitor.relay.url, replay.seeds ?? {}, owners);
  // Learn the fresh relay's peer id before any frame that names the old one goes out.
  const scout = await Connection.open(world, fuzzers[0] as Person, "scout", () => {});
  await scout?.joinAndWait(freshPeerId("scout"));
  scout?.terminate();
  process.stderr.write(
    `replaying ${entries.length} entries of ${file} (relay ${replay.relayPeerId} → ${world.relayPeerId})\n`,
  );
  const conns = new Map<string, Connection | undefined>();
  const started = Date.now();
  let skipped = 0;
  for (const e of entries) {
    if (speed > 0) {
      const due = started + (e.t - (entries[0]?.t ?? 0)) / speed;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    const person = personOf(e.user);
    if (!person) continue;
    if (e.kind === "open") {
      const kind = e.data ?? "valid";
      const token = kind === "valid" ? undefined : await forgedToken(kind, person, world);
      conns.set(e.conn, await Connection.open(world, person, e.conn, () => {}, token, kind));
      continue;
    }
    const conn = conns.get(e.conn);
    if (e.kind === "terminate") {
      conn?.terminate();
      continue;
    }
    if (!conn?.open) {
      skipped++;
      continue;
    }
    const bytes = retarget(
      new Uint8Array(Buffer.from(e.data ?? "", "base64")),
      replay.relayPeerId,
      world.relayPeerId,
    );
    if (e.kind === "fragment") conn.ws.send(bytes, { fin: e.fin === true });
    else conn.send(bytes, e.doc);
  }
  await new Promise((r) => setTimeout(r, 3_000));
  for (const c of conns.values()) c?.terminate();
  if (!monitor.alive) findings.add("relayExited", JSON.stringify(monitor.exitedWith));
  else {
    if (!(await monitor.probeHealth())) findings.add("healthzFailed", "no answer at the end");
    const byOwner = new Map<Person, string[]>();
    for (const [id, owner] of owners)
      if ((!values.doc || id === values.doc) && replay.seeds?.[id])
        byOwner.set(owner, [...(byOwner.get(owner) ?? []), id]);
    await Promise.all(
      [...byOwner].map(([p, ids]) => stillEditable(monitor.relay.url, p, ids, findings)),
    );
    await new Promise((r) => setTimeout(r, 2_000));
    const last = await monitor.sample();
    if (last && last.peers > last.connections)
      findings.add(
        "phantomPeers",
        `with every replayed socket closed the relay counts ${last.peers} joined peers for ${last.connections} connections`,
      );
  }
  await monitor.stop();
  findings.set("unhandledRejectionLog", monitor.counts.unhandled, monitor.examples.unhandled);
  findings.set("panicLog", monitor.counts.panic, monitor.examples.panic);
  data.remove();
  process.stdout.write(
    `${JSON.stringify(
      {
        entries: entries.length,
        skippedOnClosedSockets: skipped,
        healthzMaxMs: Math.round(monitor.health.maxMs),
        oracles: findings.fired(),
        examples: findings.examples,
        recorded: replay.findings,
      },
      null,
      2,
    )}\n`,
  );
  return Object.keys(findings.fired()).length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`replay failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
