import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import type { RelayDatabase } from "./database.js";

/** What the relay found in its database at start. */
export interface RecoveryReport {
  /** Bytes of write-ahead log left by the previous run (0: it stopped cleanly). */
  walBytes: number;
  /** Whole frames in that log, and how many of them SQLite took as committed. */
  walFrames: number;
  committedFrames: number;
  /**
   * A torn write: frames of the log's current generation after its last commit, at least one of
   * which fails its checksum or is cut short (counted in `discardedBytes`). Ignored by SQLite;
   * 0 when nothing was torn.
   */
  discardedFrames: number;
  discardedBytes: number;
  /**
   * Frames left from before a checkpoint (another generation: other salts). SQLite reuses the
   * log from its start after a checkpoint and leaves the old tail in place: normal, not a loss.
   */
  staleFrames: number;
  /** Valid frames after the last commit (a transaction rolled back or never finished): normal. */
  uncommittedFrames: number;
  /** "ok", or what `PRAGMA quick_check` reported. */
  integrity: "ok" | string[];
}

/** The write-ahead log as the previous run left it. */
export interface WalScan {
  bytes: number;
  /** Whole frames in the file, of every generation. */
  frames: number;
  /** Frames up to and including the last valid commit frame of the current generation. */
  committed: number;
  torn: number;
  tornBytes: number;
  stale: number;
  uncommitted: number;
}

const WAL_HEADER = 32;
const FRAME_HEADER = 24;
const MAGIC_LE = 0x377f0682;
const MAGIC_BE = 0x377f0683;

const emptyScan = (bytes: number): WalScan => ({
  bytes,
  frames: 0,
  committed: 0,
  torn: 0,
  tornBytes: 0,
  stale: 0,
  uncommitted: 0,
});

/** SQLite's WAL checksum: two 32-bit sums over 32-bit words, in the byte order the magic names. */
function checksum(data: Buffer, start: [number, number], bigEndian: boolean): [number, number] {
  let [s0, s1] = start;
  for (let i = 0; i + 8 <= data.length; i += 8) {
    const x0 = bigEndian ? data.readUInt32BE(i) : data.readUInt32LE(i);
    const x1 = bigEndian ? data.readUInt32BE(i + 4) : data.readUInt32LE(i + 4);
    s0 = (s0 + x0 + s1) >>> 0;
    s1 = (s1 + x1 + s0) >>> 0;
  }
  return [s0, s1];
}

/**
 * Reads the write-ahead log before the database is opened (opening recovers it), the way SQLite
 * does: the header's salts name the current generation; its frames count while their checksums
 * chain; the last commit frame among them ends what is committed.
 */
export function measureWal(file: string): WalScan {
  const wal = `${file}-wal`;
  if (file === ":memory:" || !existsSync(wal)) return emptyScan(0);
  const bytes = statSync(wal).size;
  if (bytes === 0) return emptyScan(0);
  const fd = openSync(wal, "r");
  try {
    const header = Buffer.alloc(WAL_HEADER);
    if (readSync(fd, header, 0, WAL_HEADER, 0) < WAL_HEADER)
      return { ...emptyScan(bytes), tornBytes: bytes };
    const magic = header.readUInt32BE(0);
    const bigEndian = magic === MAGIC_BE;
    const pageSize = header.readUInt32BE(8);
    const salts = [header.readUInt32BE(16), header.readUInt32BE(20)];
    const headerSum = checksum(header.subarray(0, 24), [0, 0], bigEndian);
    const validHeader =
      (magic === MAGIC_LE || magic === MAGIC_BE) &&
      pageSize >= 512 &&
      (pageSize & (pageSize - 1)) === 0 &&
      headerSum[0] === header.readUInt32BE(24) &&
      headerSum[1] === header.readUInt32BE(28);
    const frameSize = FRAME_HEADER + (pageSize || 65_536);
    const frames = Math.floor((bytes - WAL_HEADER) / frameSize);
    const partial = (bytes - WAL_HEADER) % frameSize;
    // A header that does not check out makes SQLite ignore the whole log: a torn restart.
    if (!validHeader) return { ...emptyScan(bytes), frames, torn: frames, tornBytes: partial };

    const frame = Buffer.alloc(frameSize);
    let sum = headerSum;
    let chained = true;
    let generation = 0;
    let valid = 0;
    let committed = 0;
    for (let i = 0; i < frames; i++) {
      readSync(fd, frame, 0, frameSize, WAL_HEADER + i * frameSize);
      if (frame.readUInt32BE(8) !== salts[0] || frame.readUInt32BE(12) !== salts[1]) break;
      generation++;
      if (!chained) continue;
      sum = checksum(frame.subarray(0, 8), sum, bigEndian);
      sum = checksum(frame.subarray(FRAME_HEADER), sum, bigEndian);
      if (sum[0] !== frame.readUInt32BE(16) || sum[1] !== frame.readUInt32BE(20)) {
        chained = false;
        continue;
      }
      valid++;
      if (frame.readUInt32BE(4) !== 0) committed = valid;
    }
    // Trailing bytes belong to the current generation when it runs to the end of the file and
    // they carry its salts (or are too short to carry any).
    let tornBytes = 0;
    if (generation === frames && partial > 0) {
      const tail = Buffer.alloc(Math.min(partial, 16));
      readSync(fd, tail, 0, tail.length, WAL_HEADER + frames * frameSize);
      const ours =
        tail.length < 16 ||
        (tail.readUInt32BE(8) === salts[0] && tail.readUInt32BE(12) === salts[1]);
      if (ours) tornBytes = partial;
    }
    const broken = valid < generation || tornBytes > 0;
    return {
      bytes,
      frames,
      committed,
      // A torn write loses its whole unfinished transaction: every frame after the last commit,
      // the one cut short included.
      torn: broken ? generation - committed + (tornBytes > 0 ? 1 : 0) : 0,
      tornBytes,
      stale: frames - generation,
      uncommitted: broken ? 0 : generation - committed,
    };
  } finally {
    closeSync(fd);
  }
}

/**
 * After opening: SQLite has replayed the committed frames of the log and ignored the rest.
 * Reports what the scan taken before found, and checks the database's structure.
 */
export function recoveryReport(db: RelayDatabase, before: WalScan): RecoveryReport {
  db.pragma("wal_checkpoint(PASSIVE)");
  const rows = db.pragma("quick_check") as { quick_check: string }[];
  const problems = rows.map((r) => r.quick_check).filter((r) => r !== "ok");
  return {
    walBytes: before.bytes,
    walFrames: before.frames,
    committedFrames: before.committed,
    discardedFrames: before.torn,
    discardedBytes: before.tornBytes,
    staleFrames: before.stale,
    uncommittedFrames: before.uncommitted,
    integrity: problems.length === 0 ? "ok" : problems,
  };
}
