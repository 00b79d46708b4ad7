import * as A from "@automerge/automerge";
import { cbor } from "@automerge/automerge-repo/slim";
import type { SqliteStorageAdapter } from "../adapters/storage-sqlite.js";
import type { Principal } from "../policy/principal.js";
import type { HeadsIndex } from "./heads-index.js";
import type { WriteGate } from "./write-gate.js";

/** Documents one bulk request may ask for. */
export const maxBulkDocuments = 1_000;

/** One document of a bulk answer: its stored bytes (automerge-repo chunks, concatenated) and heads. */
export interface BulkDocument {
  id: string;
  /** The heads of `data` (Automerge hex). */
  heads: string[];
  /** Load with `Automerge.loadIncremental(Automerge.init(), data)`, or store as a snapshot chunk. */
  data: Uint8Array;
}

/**
 * Serves stored documents as they are on disk, for a device's first sync: no document is loaded
 * into memory (the relay reads chunks and the heads it recorded when storing them), and the
 * device writes them to its storage without loading them either. Only documents the user may
 * read; the others are listed as unavailable.
 */
export class BulkExport {
  constructor(
    private readonly o: { storage: SqliteStorageAdapter; index: HeadsIndex; gate: WriteGate },
  ) {}

  async export(principal: Principal, ids: readonly string[]): Promise<Uint8Array> {
    const docs: BulkDocument[] = [];
    const unavailable: string[] = [];
    for (const id of ids) {
      if (!this.o.gate.canRead(principal, id)) {
        unavailable.push(id);
        continue;
      }
      // Chunks and heads are read without an await between them: they belong together.
      const chunks = this.o.storage
        .loadRangeNow([id])
        .filter((c) => c.key[1] === "snapshot" || c.key[1] === "incremental");
      if (chunks.length === 0) {
        unavailable.push(id);
        continue;
      }
      const data = concat(chunks.map((c) => c.data as Uint8Array));
      let heads = this.o.index.entry(id)?.heads;
      if (!heads) {
        // Stored before heads were recorded: load it once to learn them.
        heads = A.getHeads(A.loadIncremental(A.init(), data));
        await this.o.index.record(id, heads);
      }
      docs.push({ id, heads, data });
    }
    return cbor.encode({ docs, unavailable });
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
