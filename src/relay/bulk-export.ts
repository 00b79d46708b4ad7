import * as A from "@automerge/automerge";
import { cbor } from "@automerge/automerge-repo/slim";
import type { Principal } from "../policy/principal.js";
import type { HeadsIndex } from "./heads-index.js";
import type { ChunkStore } from "./store/types.js";
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
 * The answer, CBOR `{ docs, unavailable, more }`: `more` lists the ids asked for that did not
 * fit in this answer (`maxBulkResponseBytes`); ask for them again.
 */
export interface BulkAnswer {
  docs: BulkDocument[];
  unavailable: string[];
  more: string[];
}

/**
 * Serves stored documents as they are on disk, for a device's first sync: no document is loaded
 * into memory (the relay reads chunks and the heads it recorded when storing them), and the
 * device writes them to its storage without loading them either. Only documents the user may
 * read; the others are listed as unavailable.
 *
 * The answer is streamed one document at a time, and stops adding documents past
 * `maxBytes` of document data (the first one is always sent, so that every request makes
 * progress): what the relay holds in memory for a request does not depend on what it asks.
 */
export class BulkExport {
  constructor(
    private readonly o: {
      storage: ChunkStore;
      index: HeadsIndex;
      gate: WriteGate;
      maxBytes: number;
      /** Called for each document sent (the relay counts them). */
      onSent?: () => void;
    },
  ) {}

  /**
   * The CBOR encoding of a {@link BulkAnswer}, in pieces. Each id is answered once, however
   * often it is asked for.
   */
  async *export(principal: Principal, ids: readonly string[]): AsyncGenerator<Uint8Array> {
    const unavailable: string[] = [];
    const more: string[] = [];
    let bytes = 0;
    let sent = 0;
    // A map of three entries, "docs" an array of indefinite length: its size is known at the end.
    yield Uint8Array.of(0xa3);
    yield cbor.encode("docs");
    yield Uint8Array.of(0x9f);
    for (const id of new Set(ids)) {
      if (bytes >= this.o.maxBytes) {
        more.push(id);
        continue;
      }
      if (!(await this.o.gate.mayRead(principal, id))) {
        unavailable.push(id);
        continue;
      }
      const doc = await this.#read(id);
      if (!doc) {
        unavailable.push(id);
        continue;
      }
      if (sent > 0 && bytes + doc.data.byteLength > this.o.maxBytes) {
        more.push(id);
        bytes = this.o.maxBytes;
        continue;
      }
      bytes += doc.data.byteLength;
      sent++;
      this.o.onSent?.();
      yield cbor.encode(doc);
    }
    yield Uint8Array.of(0xff);
    yield cbor.encode("unavailable");
    yield cbor.encode(unavailable);
    yield cbor.encode("more");
    yield cbor.encode(more);
  }

  async #read(id: string): Promise<BulkDocument | undefined> {
    // Heads first, then chunks: heads are recorded only after their chunks are stored, so the
    // chunks read next hold at least those heads (a store in between only adds to them).
    let heads = (await this.o.index.entry(id))?.heads;
    const chunks = (await this.o.storage.loadRange([id])).filter(
      (c) => c.key[1] === "snapshot" || c.key[1] === "incremental",
    );
    if (chunks.length === 0) return undefined;
    const data = concat(chunks.map((c) => c.data as Uint8Array));
    if (!heads) {
      // Stored before heads were recorded: load it once to learn them.
      const doc = A.loadIncremental(A.init(), data);
      heads = A.getHeads(doc);
      A.free(doc);
      await this.o.index.record(id, heads);
    }
    return { id, heads, data };
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
