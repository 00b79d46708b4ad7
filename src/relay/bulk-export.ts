import * as A from "@automerge/automerge";
import { cbor } from "@automerge/automerge-repo/slim";
import type { DerivedRow } from "../docs/catalogue-row.js";
import type { Principal } from "../policy/principal.js";
import { headsKey } from "./catalogue/store-catalogue.js";
import type { HeadsIndex } from "./heads-index.js";
import type { CatalogueStore, ChunkStore } from "./store/types.js";
import type { WriteGate } from "./write-gate.js";

/** Documents one bulk request may ask for. */
export const maxBulkDocuments = 1_000;

/**
 * Documents read from the store together (one round trip each for registry, heads and chunks):
 * a bulk answer holds at most this many documents' bytes in memory at once, besides what the
 * socket has not taken yet.
 */
export const bulkReadBatch = 50;

/** One document of a bulk answer: its stored bytes (automerge-repo chunks, concatenated) and heads. */
export interface BulkDocument {
  id: string;
  /** The heads of `data` (Automerge hex). */
  heads: string[];
  /** Load with `Automerge.loadIncremental(Automerge.init(), data)`, or store as a snapshot chunk. */
  data: Uint8Array;
  /**
   * The document's catalogue row, derived from exactly `data` (at `heads`), so that the device can
   * list it without loading it; absent when the relay has no row at these heads (not derived
   * yet, or an older relay). See docs/protocol.md.
   */
  row?: DerivedRow;
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
 * The answer is streamed one document at a time, read from the store in batches of
 * {@link bulkReadBatch} (a few round trips per batch, not per document: a PostgreSQL store is
 * across a network), and stops adding documents past `maxBytes` of document data (the first one
 * is always sent, so that every request makes progress): what the relay holds in memory for a
 * request depends on the batch size, not on how many documents it asks for.
 */
export class BulkExport {
  constructor(
    private readonly o: {
      storage: ChunkStore;
      index: HeadsIndex;
      gate: WriteGate;
      maxBytes: number;
      /** The catalogue's rows, sent with the documents they were derived from (none without). */
      rows?: Pick<CatalogueStore, "currentRows">;
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
    const unique = [...new Set(ids)];
    for (let at = 0; at < unique.length; at += bulkReadBatch) {
      const batch = unique.slice(at, at + bulkReadBatch);
      // Past the byte limit nothing more is read: the rest is `more`.
      const docs = bytes >= this.o.maxBytes ? undefined : await this.#readBatch(principal, batch);
      for (const id of batch) {
        if (bytes >= this.o.maxBytes || !docs) {
          more.push(id);
          continue;
        }
        const doc = docs.get(id);
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
    }
    yield Uint8Array.of(0xff);
    yield cbor.encode("unavailable");
    yield cbor.encode(unavailable);
    yield cbor.encode("more");
    yield cbor.encode(more);
  }

  /**
   * The documents of a batch the user may read and the store holds (the others are left out),
   * in three round trips whatever the batch's size: registry entries, heads, chunks.
   */
  async #readBatch(principal: Principal, batch: string[]): Promise<Map<string, BulkDocument>> {
    const readable = await this.o.gate.mayReadAll(principal, batch);
    const ids = batch.filter((_, i) => readable[i]);
    const out = new Map<string, BulkDocument>();
    if (ids.length === 0) return out;
    // Heads first, then chunks: heads are recorded only after their chunks are stored, so the
    // chunks read next hold at least those heads (a store in between only adds to them).
    const entries = await this.o.index.entries(ids);
    const chunks = await this.o.storage.loadDocuments(ids);
    // After the chunks: a store since then marks its document pending, or gives its row other
    // heads, so a row read now and at the heads sent describes the bytes sent. Rows are an extra:
    // a failure to read them leaves the devices to derive them.
    const rows = await this.o.rows?.currentRows(ids).catch(() => undefined);
    for (const id of ids) {
      const list = chunks.get(id);
      if (!list || list.length === 0) continue;
      const data = concat(list.map((c) => c.data as Uint8Array));
      let heads = entries.get(id)?.heads;
      if (!heads) {
        // Stored before heads were recorded: load it once to learn them.
        const doc = A.loadIncremental(A.init(), data);
        heads = A.getHeads(doc);
        A.free(doc);
        await this.o.index.record(id, heads);
      }
      const row = rows?.get(id);
      out.set(
        id,
        row && row.heads === headsKey(heads)
          ? { id, heads, data, row: derivedOf(row) }
          : { id, heads, data },
      );
    }
    return out;
  }
}

/** The derived columns of a written row, without its heads (the document's are sent beside). */
function derivedOf(row: DerivedRow & { heads: string }): DerivedRow {
  const { heads: _, ...derived } = row;
  return derived;
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
