import { writeFileSync } from "node:fs";

/** One thing the harness did on the wire, as the replay needs it. */
export interface HistoryEntry {
  seq: number;
  /** Milliseconds since the run started. */
  t: number;
  /** The connection's label, e.g. "ann#1/3" (person, socket, generation). */
  conn: string;
  user: string;
  /** The document the frame is about, if any. */
  doc?: string;
  kind: "open" | "frame" | "fragment" | "terminate";
  /** Frame bytes (base64); for "open", the token kind ("valid" or a forgery's name). */
  data?: string;
  /** For "fragment": whether it is the last part. */
  fin?: boolean;
}

export interface ReplayFile {
  version: 1;
  relayPeerId: string;
  startedAt: string;
  /** Seeded documents and their owners' user ids: what each replayed socket may read. */
  owners: Record<string, string>;
  /** The seeded documents as they were before the first frame (Automerge binary, base64). */
  seeds: Record<string, string>;
  findings: Record<string, number>;
  examples: Record<string, string[]>;
  entries: HistoryEntry[];
}

/** A bounded list: the first `head` entries and the last `tail`. */
class Ring {
  readonly first: HistoryEntry[] = [];
  readonly last: (HistoryEntry | undefined)[];
  #next = 0;
  constructor(
    readonly head: number,
    tail: number,
  ) {
    this.last = new Array(tail);
  }
  push(e: HistoryEntry): void {
    if (this.first.length < this.head) return void this.first.push(e);
    this.last[this.#next] = e;
    this.#next = (this.#next + 1) % this.last.length;
  }
  all(): HistoryEntry[] {
    return [...this.first, ...(this.last.filter(Boolean) as HistoryEntry[])];
  }
}

/**
 * Per-document histories of every frame sent: bounded per document (the first frames, which
 * create it, and the latest ones), per connection for frames about no document (joins, junk),
 * and one shared list for documents nobody holds (fresh unknown ids).
 */
export class HistoryRecorder {
  readonly #byKey = new Map<string, Ring>();
  readonly #known: Set<string>;
  readonly #start = Date.now();
  #seq = 0;
  relayPeerId = "";
  readonly owners: Record<string, string> = {};
  readonly seeds: Record<string, string> = {};

  constructor(
    knownDocuments: Set<string>,
    readonly headPerKey = 64,
    readonly tailPerKey = 1_024,
  ) {
    this.#known = knownDocuments;
  }

  record(entry: Omit<HistoryEntry, "seq" | "t">): void {
    const full: HistoryEntry = { ...entry, seq: this.#seq++, t: Date.now() - this.#start };
    const key = entry.doc
      ? this.#known.has(entry.doc)
        ? `doc:${entry.doc}`
        : "unknown-docs"
      : `conn:${entry.conn.split("/")[0]}`;
    let ring = this.#byKey.get(key);
    if (!ring) {
      ring = new Ring(this.headPerKey, this.tailPerKey);
      this.#byKey.set(key, ring);
    }
    ring.push(full);
  }

  /** Every kept entry, in the order it happened. */
  entries(): HistoryEntry[] {
    const all: HistoryEntry[] = [];
    for (const ring of this.#byKey.values()) all.push(...ring.all());
    return all.sort((a, b) => a.seq - b.seq);
  }

  get documents(): number {
    return [...this.#byKey.keys()].filter((k) => k.startsWith("doc:")).length;
  }

  write(
    file: string,
    findings: { counts: Record<string, number>; examples: Record<string, string[]> },
  ): void {
    const replay: ReplayFile = {
      version: 1,
      relayPeerId: this.relayPeerId,
      startedAt: new Date(this.#start).toISOString(),
      owners: this.owners,
      seeds: this.seeds,
      findings: Object.fromEntries(Object.entries(findings.counts).filter(([, n]) => n > 0)),
      examples: findings.examples,
      entries: this.entries(),
    };
    writeFileSync(file, `${JSON.stringify(replay)}\n`);
  }
}
