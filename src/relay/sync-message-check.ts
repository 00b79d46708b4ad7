/**
 * The parameters of a decoded automerge sync message, checked against what automerge itself
 * produces. automerge 3.5 trusts them: a bloom filter with 0 bits per entry panics with a
 * division by zero, one with 2^31 probes panics allocating, both in `generateSyncMessage`, which
 * the Repo runs right after applying the message (docs/security.md, "Gate").
 */

/** What `Automerge.decodeSyncMessage` returns, as far as the relay reads it. */
export interface DecodedSyncMessage {
  heads: unknown[];
  need: unknown[];
  have: { lastSync: unknown[]; bloom: Uint8Array }[];
  changes: unknown[];
}

/** automerge's bloom filter parameters (10 bits per entry, 7 probes: about 1% false positives). */
export const bloomBitsPerEntry = 10;
export const bloomProbes = 7;

/** Sane sizes: far above what a real peer sends, far below what would cost the relay. */
export const syncMessageLimits = {
  /** Heads of one document: one per concurrent branch. */
  maxHeads: 1_000,
  /** Hashes a peer says it needs. */
  maxNeed: 10_000,
  /** automerge sends one `have` entry. */
  maxHave: 4,
  /** Heads of the last sync, per `have` entry. */
  maxLastSync: 1_000,
  /** Changes summarised by one bloom filter (1.25 MB of filter). */
  maxBloomEntries: 1_000_000,
} as const;

const hash = /^[0-9a-f]{64}$/;

/** Why the message's parameters are not ones automerge produces; undefined when they are. */
export function syncMessageProblem(message: DecodedSyncMessage): string | undefined {
  const l = syncMessageLimits;
  if (!hashes(message.heads, l.maxHeads)) return `heads must be at most ${l.maxHeads} hashes`;
  if (!hashes(message.need, l.maxNeed)) return `need must be at most ${l.maxNeed} hashes`;
  if (!Array.isArray(message.have) || message.have.length > l.maxHave)
    return `have must have at most ${l.maxHave} entries`;
  for (const have of message.have) {
    if (!hashes(have.lastSync, l.maxLastSync))
      return `have.lastSync must be at most ${l.maxLastSync} hashes`;
    const problem = bloomProblem(have.bloom);
    if (problem) return problem;
  }
  return undefined;
}

function hashes(value: unknown[], max: number): boolean {
  return (
    Array.isArray(value) &&
    value.length <= max &&
    value.every((h) => typeof h === "string" && hash.test(h))
  );
}

/**
 * A bloom filter is empty, or LEB128 entries, bits per entry and probes followed by exactly
 * ceil(entries × bits per entry / 8) bytes of bits.
 */
function bloomProblem(bloom: Uint8Array): string | undefined {
  if (!(bloom instanceof Uint8Array)) return "a bloom filter must be bytes";
  if (bloom.byteLength === 0) return undefined;
  const header: number[] = [];
  let at = 0;
  while (header.length < 3) {
    const read = leb128(bloom, at);
    if (!read) return "a bloom filter's header is cut short or too large";
    header.push(read.value);
    at = read.next;
  }
  const [entries, bitsPerEntry, probes] = header as [number, number, number];
  if (bitsPerEntry !== bloomBitsPerEntry || probes !== bloomProbes)
    return `a bloom filter must use ${bloomBitsPerEntry} bits per entry and ${bloomProbes} probes (got ${bitsPerEntry} and ${probes})`;
  if (entries < 1 || entries > syncMessageLimits.maxBloomEntries)
    return `a bloom filter must summarise 1 to ${syncMessageLimits.maxBloomEntries} changes`;
  if (bloom.byteLength - at !== Math.ceil((entries * bitsPerEntry) / 8))
    return "a bloom filter's bits do not match its number of entries";
  return undefined;
}

/** An unsigned LEB128 of at most 32 bits, as automerge reads these. */
function leb128(bytes: Uint8Array, start: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    const byte = bytes[start + i];
    if (byte === undefined) return undefined;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0)
      return value <= 0xffff_ffff ? { value, next: start + i + 1 } : undefined;
  }
  return undefined;
}
