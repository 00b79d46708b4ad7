import type { Person } from "./cast.js";
import type { Findings } from "./findings.js";
import type { HistoryRecorder } from "./history.js";

/** What every peer of the run shares: the relay, the documents, the recorder, the findings. */
export interface World {
  readonly url: string;
  relayPeerId: string;
  readonly history: HistoryRecorder;
  readonly findings: Findings;
  /** Every seeded document, with its owner. */
  readonly owners: Map<string, Person>;
  /** Peer ids currently joined by a harness socket, and their user. */
  readonly livePeers: Map<string, string>;
  /** Recently sent frames of every peer, for cross-peer replays. */
  readonly recent: { user: string; doc?: string; bytes: Uint8Array }[];
  readonly stats: Record<string, number>;
  /** Frames sent by the fuzzing peers (the run's budget counts these). */
  frames: number;
  readonly random: () => number;
  running: boolean;
}

export function bump(world: World, key: string, by = 1): void {
  world.stats[key] = (world.stats[key] ?? 0) + by;
}

/** A small seeded generator (mulberry32): the same seed picks the same mutations. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export const pick = <T>(world: World, list: readonly T[]): T =>
  list[Math.floor(world.random() * list.length)] as T;
