import * as A from "@automerge/automerge";

// Byte-level builders for what no Automerge API produces: sync messages with huge counts and
// crafted bloom filters, changes re-encoded with forged fields.

/** Unsigned LEB128, for numbers up to 2^64. */
export function uleb(value: number | bigint): number[] {
  let n = BigInt(value);
  const out: number[] = [];
  do {
    let byte = Number(n & 0x7fn);
    n >>= 7n;
    if (n > 0n) byte |= 0x80;
    out.push(byte);
  } while (n > 0n);
  return out;
}

/** Appends bytes to a growing buffer without building arrays of numbers. */
class Writer {
  #buf = Buffer.alloc(1_024);
  #len = 0;
  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = Buffer.alloc(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }
  byte(b: number): void {
    this.#room(1);
    this.#buf[this.#len++] = b;
  }
  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }
  uleb(n: number | bigint): void {
    for (const b of uleb(n)) this.byte(b);
  }
  hex(h: string): void {
    this.#room(h.length / 2);
    this.#len += this.#buf.write(h, this.#len, "hex");
  }
  done(): Uint8Array {
    return new Uint8Array(this.#buf.subarray(0, this.#len));
  }
}

export interface RawSyncParts {
  heads: string[];
  need: string[];
  have: { lastSync: string[]; bloom: Uint8Array }[];
  changes: Uint8Array[];
  /** Counts to write instead of the real ones (a list claiming 2^32 entries, say). */
  headsCount?: number | bigint;
  changesCount?: number | bigint;
  haveCount?: number | bigint;
}

/** A v1 sync message (type byte 0x42), written field by field so counts can lie. */
export function rawSyncMessage(p: RawSyncParts): Uint8Array {
  const w = new Writer();
  const hashes = (list: string[], count?: number | bigint) => {
    w.uleb(count ?? list.length);
    for (const h of list) w.hex(h);
  };
  w.byte(0x42);
  hashes(p.heads, p.headsCount);
  hashes(p.need);
  w.uleb(p.haveCount ?? p.have.length);
  for (const h of p.have) {
    hashes(h.lastSync);
    w.uleb(h.bloom.length);
    w.bytes(h.bloom);
  }
  w.uleb(p.changesCount ?? p.changes.length);
  for (const c of p.changes) {
    w.uleb(c.length);
    w.bytes(c);
  }
  return w.done();
}

/**
 * A bloom filter with chosen parameters: entries, bits per entry, probes, and as many bit bytes
 * as the parameters claim (capped), so that decoding gets past the length check.
 */
export function bloom(
  entries: number | bigint,
  bitsPerEntry: number | bigint,
  probes: number | bigint,
  bitBytes?: number,
): Uint8Array {
  const claimed = Math.ceil((Number(entries) * Number(bitsPerEntry)) / 8);
  const length = Math.min(bitBytes ?? claimed, 4_096);
  const head = [...uleb(entries), ...uleb(bitsPerEntry), ...uleb(probes)];
  const out = new Uint8Array(head.length + Math.max(0, length)).fill(0xff);
  out.set(head);
  return out;
}

/** The crafted bloom filters: zero bits per entry, 2^31 probes, huge entry counts, truncation. */
export const bloomVariants: readonly (() => Uint8Array)[] = [
  () => bloom(1, 0, 7),
  () => bloom(10, 0, 1),
  () => bloom(1, 10, 2 ** 31),
  () => bloom(1, 10, 2 ** 32 - 1),
  () => bloom(2 ** 31, 10, 7, 16),
  () => bloom(2n ** 63n, 2n ** 63n, 7, 16),
  () => bloom(0, 10, 7),
  () => bloom(1, 2 ** 31, 1, 16),
  () => new Uint8Array([0x01]),
  () => new Uint8Array([0xff, 0xff, 0xff]),
];

export function fakeHash(seed: number): string {
  return (seed >>> 0).toString(16).padStart(8, "0").repeat(8);
}

export interface ChangeForgery {
  deps?: string[];
  actor?: string;
  seq?: number;
  startOp?: number;
  time?: number;
  message?: string | null;
}

/** Re-encodes a real change with forged fields (a new hash: "re-signed"). */
export function forgeChange(change: Uint8Array, forgery: ChangeForgery): Uint8Array {
  const decoded = A.decodeChange(change);
  const forged = { ...decoded, ...forgery } as A.DecodedChange;
  return A.encodeChange(forged);
}
