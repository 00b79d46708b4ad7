import { existsSync, readFileSync, statSync } from "node:fs";
import type { RelayDatabase } from "./database.js";

/** What the relay found in its database at start. */
export interface RecoveryReport {
  /** Bytes of write-ahead log left by the previous run (0: it stopped cleanly). */
  walBytes: number;
  /** Whole frames in that log, and how many of them SQLite took as committed. */
  walFrames: number;
  committedFrames: number;
  /** A torn or corrupted tail: frames (and trailing bytes) not committed, ignored. */
  discardedFrames: number;
  discardedBytes: number;
  /** "ok", or what `PRAGMA quick_check` reported. */
  integrity: "ok" | string[];
}

const WAL_HEADER = 32;
const FRAME_HEADER = 24;

/** Measures the write-ahead log before the database is opened (opening recovers it). */
export function measureWal(file: string): { bytes: number; frames: number; partial: number } {
  const wal = `${file}-wal`;
  if (file === ":memory:" || !existsSync(wal)) return { bytes: 0, frames: 0, partial: 0 };
  const bytes = statSync(wal).size;
  if (bytes < WAL_HEADER) return { bytes, frames: 0, partial: bytes };
  const header = readFileSync(wal).subarray(0, WAL_HEADER);
  const pageSize = header.readUInt32BE(8) || 65_536;
  const frameSize = FRAME_HEADER + pageSize;
  return {
    bytes,
    frames: Math.floor((bytes - WAL_HEADER) / frameSize),
    partial: (bytes - WAL_HEADER) % frameSize,
  };
}

/**
 * After opening: SQLite has replayed the committed frames of the log and ignored the rest (a
 * frame whose checksum fails ends the log). Compares with the measurement taken before, and
 * checks the database's structure.
 */
export function recoveryReport(
  db: RelayDatabase,
  before: { bytes: number; frames: number; partial: number },
): RecoveryReport {
  const [checkpoint] = db.pragma("wal_checkpoint(PASSIVE)") as { log: number }[];
  const committed = before.frames > 0 ? Math.max(0, checkpoint?.log ?? 0) : 0;
  const rows = db.pragma("quick_check") as { quick_check: string }[];
  const problems = rows.map((r) => r.quick_check).filter((r) => r !== "ok");
  return {
    walBytes: before.bytes,
    walFrames: before.frames,
    committedFrames: Math.min(committed, before.frames),
    discardedFrames: Math.max(0, before.frames - committed),
    discardedBytes: before.partial,
    integrity: problems.length === 0 ? "ok" : problems,
  };
}
