import type {
  DocHandle,
  DocumentId,
  Repo,
  StorageAdapterInterface,
  StorageKey,
} from "@automerge/automerge-repo/slim";
import { decodeHeads } from "@automerge/automerge-repo/slim";
import type { Logger } from "pino";
import { headsHash } from "../../docs/heads-digest.js";
import { type Bus, type ResyncReason, startNatsBus } from "./bus.js";
import type { ClusterMetrics } from "./cluster-metrics.js";
import { DocumentFollower } from "./document-follower.js";
import {
  type AccessNotice,
  type EphemeralNotice,
  type InlineChunk,
  MAX_EPHEMERAL_BYTES,
  MAX_INLINE_BYTES,
  MAX_INLINE_CHUNKS,
} from "./notices.js";
import { NotifyingStorage, type StoredChunk } from "./notifying-storage.js";
import { LocalWriterLock, type WriterLock } from "./writer-lock.js";

/**
 * Writes a document the relay itself writes (ledger, inbox, workspace): `edit` runs on the
 * document as stored, as its one writer across nodes. `edit` may read before it writes.
 */
export type DocumentWriter = <T>(handle: DocHandle<T>, edit: (doc: T) => void) => Promise<void>;

/** The multi-node options of a relay, with their defaults in `defaultClusterConfig`. */
export interface ClusterConfig {
  /** `nats://…`: the bus between nodes. Without it the node re-reads the store periodically only. */
  busUrl?: string;
  /** Subject prefix of this deployment's notices. */
  busSubject: string;
  /** Every loaded document is re-read from the store this often (what a lost notice costs). */
  recheckMs: number;
  /** Revocations and reassignments are re-read from the store this often, bus or not. */
  accessRecheckMs: number;
}

export const defaultClusterConfig: ClusterConfig = {
  busSubject: "oms",
  recheckMs: 5_000,
  accessRecheckMs: 500,
};

export interface ClusterOptions {
  nodeId: string;
  config: ClusterConfig;
  log: Logger;
  metrics: ClusterMetrics;
  /**
   * The store's content chunk keys per document (`ChunkStore.contentKeys`): a re-check then
   * reads only documents with chunks this node has not applied.
   */
  storedKeys?: (ids: string[]) => Promise<Map<string, StorageKey[]>>;
  /** Re-read revocations and reassignments (a notice came, or the periodic re-read is due). */
  onAccess: (notice?: AccessNotice) => Promise<void> | void;
  /** Another node passed on a client's ephemeral message (presence): send it to local peers. */
  onEphemeral?: (notice: EphemeralNotice) => void;
  /** Another node noted submission work (a hint: the processor also runs periodically). */
  onWork?: () => void;
  /** One writer per relay-written document across nodes (default: within this process only). */
  writerLock?: WriterLock;
}

/**
 * What makes a relay one node among several on a shared store: the notices it publishes after
 * each committed chunk, the catch-up of loaded documents when notices (or re-checks) say another
 * node stored more, the one-writer rule for relay-written documents, and the periodic re-reads
 * that make the bus a hint rather than the truth.
 *
 * Build order (no forward references): `new Cluster(…)`, `cluster.wrapStorage(chunks)` as the
 * Repo's storage, `new Repo(…)`, then `cluster.start(repo)`.
 */
export class Cluster {
  readonly #o: ClusterOptions;
  readonly lock: WriterLock;
  #repo: Repo | undefined;
  #storage: StorageAdapterInterface | undefined;
  #notifying: NotifyingStorage | undefined;
  #follower: DocumentFollower | undefined;
  #bus: Bus | undefined;
  readonly #timers: NodeJS.Timeout[] = [];
  /** Chunks committed in this turn, per document: one notice carries them all. */
  readonly #pendingNotices = new Map<string, StoredChunk[]>();
  #closed = false;

  constructor(options: ClusterOptions) {
    this.#o = options;
    this.lock = options.writerLock ?? new LocalWriterLock();
  }

  get nodeId(): string {
    return this.#o.nodeId;
  }

  get busConnected(): boolean {
    return this.#bus?.connected ?? false;
  }

  /** The Repo's storage: the store's chunks, announcing each committed chunk to other nodes. */
  wrapStorage(chunks: StorageAdapterInterface): StorageAdapterInterface {
    this.#storage = chunks;
    this.#notifying = new NotifyingStorage(chunks, {
      onStored: (chunk) => {
        this.#follower?.holds(chunk.documentId, [[chunk.documentId, chunk.kind, chunk.name]]);
        this.#stored(chunk);
      },
      onLoaded: (keys) => {
        for (const key of keys) if (key[0]) this.#follower?.holds(key[0], [key]);
      },
      headsOf: (documentId) => {
        const handle = this.#repo?.handles[documentId as DocumentId];
        return handle?.isReady() ? decodeHeads(handle.heads()) : undefined;
      },
    });
    return this.#notifying;
  }

  start(repo: Repo): void {
    const { config, log, metrics } = this.#o;
    if (!this.#storage) throw new Error("Cluster.wrapStorage must be called before start");
    this.#repo = repo;
    this.#follower = new DocumentFollower({
      repo,
      storage: this.#storage,
      log,
      ...(this.#o.storedKeys ? { storedKeys: this.#o.storedKeys } : {}),
      alreadyStored: (id, hashes) => this.#notifying?.alreadyStored(id, hashes),
      onApplied: (_id, _chunks, seconds) => {
        metrics.catchUps.inc();
        metrics.catchUpSeconds.observe(seconds);
      },
    });
    if (config.busUrl) {
      this.#bus = startNatsBus({
        url: config.busUrl,
        nodeId: this.#o.nodeId,
        subject: config.busSubject,
        log,
        onNotice: (notice) => {
          metrics.busNotices.inc({ type: notice.type, direction: "in" });
          if (notice.type === "document")
            void this.#follower
              ?.notice(notice.documentId, notice.heads, notice.chunks)
              .catch((err) =>
                log.warn({ err, documentId: notice.documentId }, "catch-up failed; re-check later"),
              );
          else if (notice.type === "access") void this.#access(notice);
          else if (notice.type === "ephemeral") this.#o.onEphemeral?.(notice);
          else this.#o.onWork?.();
        },
        onResync: (reason) => void this.resync(reason),
        onLag: (seconds) => metrics.busLag.observe(seconds),
        onInvalid: () => metrics.busNotices.inc({ type: "invalid", direction: "dropped" }),
        onState: (connected) => metrics.busConnected.set(connected ? 1 : 0),
      });
    }
    const every = (ms: number, fn: () => void) => {
      const timer = setInterval(fn, ms);
      timer.unref();
      this.#timers.push(timer);
    };
    every(config.recheckMs, () => void this.resync("periodic"));
    every(config.accessRecheckMs, () => void this.#access());
  }

  /** Re-reads every loaded document from the store (resolves with the number read). */
  async resync(reason: ResyncReason): Promise<number> {
    if (this.#closed || !this.#follower) return 0;
    this.#o.metrics.resyncs.inc({ reason });
    try {
      const read = await this.#follower.recheck();
      if (reason !== "periodic") void this.#access();
      return read;
    } catch (err) {
      this.#o.log.warn({ err, reason }, "re-check failed; trying again at the next one");
      return 0;
    }
  }

  /**
   * True when the document as loaded is made only of changes other nodes stored (applied from
   * the store, nothing of this node's own since): a sync message about it can leave without a
   * flush, whose save would be skipped and whose heads the storing node records.
   */
  storedElsewhere(documentId: string): boolean {
    const handle = this.#repo?.handles[documentId as DocumentId];
    if (!handle?.isReady() || !this.#notifying) return false;
    return this.#notifying.storedElsewhere(documentId, decodeHeads(handle.heads()));
  }

  /** A document was unloaded from this node. */
  forget(documentId: string): void {
    this.#follower?.forget(documentId);
    this.#notifying?.forget(documentId);
  }

  /**
   * Writes a relay-written document as its one writer across nodes: takes the lock, brings the
   * handle up to date with the store, applies `edit`, stores the result, then frees the lock.
   */
  readonly write: DocumentWriter = async (handle, edit) => {
    await this.lock.withDocument(handle.documentId, async () => {
      await this.#follower?.catchUp(handle.documentId);
      handle.change(edit as never);
      await this.#repo?.flush([handle.documentId]);
    });
  };

  /** Tells the other nodes of a revocation, reinstatement or reassignment made here. */
  publishAccess(notice: Omit<AccessNotice, "type" | "node" | "at">): void {
    this.#bus?.publish({ type: "access", ...notice });
    this.#o.metrics.busNotices.inc({ type: "access", direction: "out" });
  }

  /**
   * Passes a client's ephemeral message that this node accepted to the other nodes, whose peers
   * of the document get it too (messages over `MAX_EPHEMERAL_BYTES` of data stay on this node).
   */
  publishEphemeral(
    message: Omit<EphemeralNotice, "type" | "node" | "at" | "data"> & {
      data: Uint8Array;
    },
  ): void {
    if (!this.#bus || message.data.byteLength > MAX_EPHEMERAL_BYTES) return;
    const { data, ...rest } = message;
    this.#bus.publish({ type: "ephemeral", ...rest, data: Buffer.from(data).toString("base64") });
    this.#o.metrics.busNotices.inc({ type: "ephemeral", direction: "out" });
  }

  /** Tells the other nodes that submission work was noted. */
  publishWork(): void {
    this.#bus?.publish({ type: "work" });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    await this.#bus?.close();
    await this.lock.close();
  }

  async #access(notice?: AccessNotice): Promise<void> {
    try {
      await this.#o.onAccess(notice);
    } catch (err) {
      this.#o.log.warn({ err }, "could not re-read revocations; next time");
    }
  }

  /**
   * A chunk is committed: announce the document's heads (once per burst of saves), with the
   * chunks of the burst when they are small enough to spare the receivers a read.
   */
  #stored(chunk: StoredChunk): void {
    if (!this.#bus) return;
    const { documentId } = chunk;
    const pending = this.#pendingNotices.get(documentId);
    if (pending) return void pending.push(chunk);
    this.#pendingNotices.set(documentId, [chunk]);
    queueMicrotask(() => {
      const chunks = this.#pendingNotices.get(documentId) ?? [];
      this.#pendingNotices.delete(documentId);
      const handle = this.#repo?.handles[documentId as DocumentId];
      if (!handle?.isReady()) return;
      const size = chunks.reduce((n, c) => n + c.data.byteLength, 0);
      const inline: InlineChunk[] | undefined =
        size <= MAX_INLINE_BYTES && chunks.length <= MAX_INLINE_CHUNKS
          ? chunks.map((c) => ({
              kind: c.kind,
              name: c.name,
              data: Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength).toString(
                "base64",
              ),
            }))
          : undefined;
      void headsHash(decodeHeads(handle.heads())).then((heads) => {
        this.#bus?.publish({
          type: "document",
          documentId,
          heads,
          ...(inline ? { chunks: inline } : {}),
        });
        this.#o.metrics.busNotices.inc({ type: "document", direction: "out" });
      });
    });
  }
}
