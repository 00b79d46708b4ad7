import * as A from "@automerge/automerge";
import {
  type DocHandle,
  type DocumentId,
  decodeHeads,
  type PeerId,
  type Repo,
} from "@automerge/automerge-repo/slim";
import type { ClientSocketAdapter, SocketEvent } from "../adapters/network-ws-client.js";
import { OmsError } from "../docs/errors.js";
import { sameHeads } from "../docs/heads.js";
import type { Clock } from "./clock.js";
import { fetchSession, type SessionResponse } from "./session.js";
import { initialStatus, type SyncStatus } from "./sync-status.js";

/** When and how the client syncs. */
export interface SyncSchedule {
  /** Background sync interval for offline users while connected. Default 3 minutes. */
  intervalMs: number;
  /** First reconnect delay after a failure; doubles up to `backoffMaxMs`. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** A sync run that has not completed by then fails. */
  syncTimeoutMs: number;
  /** `sync.now()` waits this long for a connection before it fails. */
  connectTimeoutMs: number;
  /** Documents loaded at once during a run. */
  maxDocumentsInFlight: number;
  /** Documents asked for per request of a first sync's bulk fetch. Default 500. */
  bulkPageDocuments: number;
}

export const defaultSchedule: SyncSchedule = {
  intervalMs: 180_000,
  backoffInitialMs: 1_000,
  backoffMaxMs: 60_000,
  syncTimeoutMs: 120_000,
  connectTimeoutMs: 10_000,
  maxDocumentsInFlight: 50,
  bulkPageDocuments: 500,
};

export interface TokenSource {
  current(): string;
  /** Asks for a fresh token; undefined when there is no way to get one. */
  refresh(): Promise<string | undefined>;
}

export interface SyncEngineOptions {
  repo: Repo;
  adapter: ClientSocketAdapter;
  clock: Clock;
  tokens: TokenSource;
  httpUrl: string;
  fetch?: typeof fetch;
  schedule: SyncSchedule;
  /** Background runs on the schedule (offline users). */
  background: boolean;
  /** Documents a run must bring to complete. */
  scope(): DocumentId[];
  onSession(session: SessionResponse): Promise<void>;
  /**
   * Of these ids in scope, those the relay confirms it stores at the heads this device last
   * synced (and which did not change here since): they are not loaded in this run.
   */
  inSync?(ids: string[], progress?: (done: number, total: number) => void): Promise<Set<string>>;
  /** The run completed; `synced` are the documents it loaded, each stored at its heads now. */
  onComplete(
    relayTime: number,
    localTime: number,
    synced: DocHandle<unknown>[],
    receipt: string,
  ): Promise<void>;
}

type Waiter = {
  resolve: () => void;
  reject: (e: unknown) => void;
  /** The connection attempts begun when it started waiting (see `#attempts`). */
  since: number;
};

class ConnectionLost extends OmsError {
  constructor() {
    super(
      "OFFLINE",
      "the connection was lost during the sync; it resumes when a connection exists",
    );
  }
}

/** fetch's failures to reach the relay (TypeError), and its timeouts and aborts. */
function isNetworkFailure(err: unknown): boolean {
  return (
    err instanceof TypeError ||
    (err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError"))
  );
}

/**
 * Drives the connection and the sync runs. A run fetches the session (the relay's signed time),
 * loads every document in scope, and ends `complete` when each one's heads equal the heads the
 * relay reported after storing it.
 */
export class SyncEngine {
  readonly #o: SyncEngineOptions;
  #status: SyncStatus = initialStatus;
  readonly #listeners = new Set<(s: SyncStatus) => void>();
  #stopped = false;
  #backoff: number;
  #retryTimer: unknown;
  #intervalTimer: unknown;
  #connected = false;
  #connectWaiters: Waiter[] = [];
  /**
   * Connection attempts begun so far. A failed attempt answers only the waiters that were there
   * when it began: one that came while it was under way (a sync asked for just after the relay
   * came back) gets an attempt of its own, not the OFFLINE of an attempt made before.
   */
  #attempts = 0;
  #run: Promise<void> | undefined;
  /** The current run is connected and at work (not waiting for a connection). */
  #runBegun = false;
  /** Closed: no status is published any more. */
  #silent = false;
  #followUp: Promise<void> | undefined;
  #runBytes = { sent: 0, received: 0 };
  #watched = new Map<string, () => void>();
  #recheck: (() => void) | undefined;
  #confirmed = 0;

  constructor(options: SyncEngineOptions) {
    this.#o = options;
    this.#backoff = options.schedule.backoffInitialMs;
  }

  get status(): SyncStatus {
    return this.#status;
  }

  subscribe(listener: (status: SyncStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get connected(): boolean {
    return this.#connected;
  }

  #set(patch: Partial<SyncStatus>): void {
    if (this.#silent) return;
    this.#status = { ...this.#status, ...patch };
    for (const listener of this.#listeners) listener(this.#status);
  }

  setLastCompleteSync(relayTime: number | null): void {
    this.#set({ lastCompleteSync: relayTime });
  }

  setQuarantined(count: number): void {
    if (count !== this.#status.quarantined) this.#set({ quarantined: count });
  }

  /** A document left the run (refused and deleted locally): judge "complete" again. */
  recheck(): void {
    this.#recheck?.();
  }

  /** Counts bytes on the wire for the current run's progress. */
  countBytes(direction: "sent" | "received", bytes: number): void {
    if (direction === "sent") this.#runBytes.sent += bytes;
    else this.#runBytes.received += bytes;
  }

  start(): void {
    void this.#connect();
    this.#scheduleBackground();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#connected = false;
    this.#o.clock.clearTimeout(this.#retryTimer);
    this.#o.clock.clearTimeout(this.#intervalTimer);
    for (const unwatch of this.#watched.values()) unwatch();
    this.#o.adapter.close();
    this.#rejectWaiters(new OmsError("OFFLINE", "the client was closed"));
    // A run in progress sees the state change and ends.
    this.#set({ state: "offline" });
    // Nothing is published after this: a listener hears "offline" last.
    this.#silent = true;
    this.#listeners.clear();
    await this.#run?.catch(() => undefined);
    await this.#followUp?.catch(() => undefined);
  }

  #scheduleBackground(): void {
    if (!this.#o.background || this.#stopped) return;
    this.#intervalTimer = this.#o.clock.setTimeout(() => {
      if (this.#connected) void this.now().catch(() => undefined);
      this.#scheduleBackground();
    }, this.#o.schedule.intervalMs);
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    this.#o.clock.clearTimeout(this.#retryTimer);
    const attempt = ++this.#attempts;
    this.#set({ state: "connecting", error: null });
    let session: SessionResponse;
    try {
      session = await this.#session();
      // May refuse to go on (a relay that lost data has not taken this device's receipts yet).
      await this.#o.onSession(session);
    } catch (err) {
      return this.#failed(err, attempt);
    }
    if (this.#stopped) return;
    this.#o.adapter.open();
  }

  /** Fetches the session; on a refused token asks for a fresh one once. */
  async #session(): Promise<SessionResponse> {
    const get = () =>
      fetchSession(
        this.#o.httpUrl,
        this.#o.tokens.current(),
        this.#o.fetch ? { fetch: this.#o.fetch } : {},
      );
    try {
      return await get();
    } catch (err) {
      if (
        !(err instanceof OmsError) ||
        (err.code !== "AUTH_EXPIRED" && err.code !== "AUTH_REQUIRED")
      )
        throw err;
      this.#set({ state: "error", error: { reason: "auth", message: err.message } });
      const fresh = await this.#o.tokens.refresh().catch(() => undefined);
      if (!fresh) throw err;
      return get();
    }
  }

  #failed(err: unknown, attempt: number): void {
    if (err instanceof OmsError && err.code === "USER_REVOKED") {
      this.#set({ state: "error", error: { reason: "revoked", message: err.message } });
      this.#rejectWaiters(err);
      this.#backoff = this.#o.schedule.backoffMaxMs;
      this.#retryLater();
      return;
    }
    const auth =
      err instanceof OmsError && (err.code === "AUTH_EXPIRED" || err.code === "AUTH_REQUIRED");
    if (auth)
      this.#set({ state: "error", error: { reason: "auth", message: (err as Error).message } });
    else this.#set({ state: "offline", error: null });
    this.#rejectWaiters(err, attempt);
    // Someone began waiting after this attempt began: try again for them now, not after backoff.
    if (!auth && this.#connectWaiters.length > 0) void this.#connect();
    else this.#retryLater();
  }

  #retryLater(): void {
    if (this.#stopped) return;
    this.#o.clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = this.#o.clock.setTimeout(() => void this.#connect(), this.#backoff);
    this.#backoff = Math.min(this.#backoff * 2, this.#o.schedule.backoffMaxMs);
  }

  /** The socket adapter's events. */
  onSocketEvent(event: SocketEvent): void {
    if (this.#stopped) return;
    if (event.type === "connected") {
      this.#connected = true;
      this.#backoff = this.#o.schedule.backoffInitialMs;
      for (const w of this.#connectWaiters.splice(0)) w.resolve();
      // A run waiting for this connection covers it: no second run right after it.
      if (this.#run && !this.#runBegun) return;
      void this.now().catch(() => undefined);
    } else if (event.type === "refused") {
      // The token was refused at the upgrade: the next attempt starts with a session check,
      // which asks for a fresh token.
      if (event.status === 401)
        this.#set({
          state: "error",
          error: { reason: "auth", message: "the relay refused the token" },
        });
    } else {
      const was = this.#connected;
      this.#connected = false;
      if (this.#status.state !== "error") this.#set({ state: "offline" });
      if (was) this.#backoff = this.#o.schedule.backoffInitialMs;
      this.#rejectWaiters(
        new OmsError(
          "OFFLINE",
          "the connection to the relay was lost; work goes on on this device",
        ),
      );
      this.#retryLater();
    }
  }

  /** Rejects the waiters (only those waiting before attempt `attempt` began, if given). */
  #rejectWaiters(err: unknown, attempt?: number): void {
    const answered =
      attempt === undefined
        ? this.#connectWaiters
        : this.#connectWaiters.filter((w) => w.since < attempt);
    this.#connectWaiters = this.#connectWaiters.filter((w) => !answered.includes(w));
    for (const w of answered) w.reject(err);
  }

  /**
   * Resolves once connected when a connection attempt is under way; rejects at once with OFFLINE
   * when there is none, so callers get a clear error rather than a hang.
   */
  waitForConnection(): Promise<void> {
    if (this.#connected) return Promise.resolve();
    if (this.#status.state !== "connecting" && this.#status.state !== "syncing") {
      return Promise.reject(
        new OmsError("OFFLINE", "no connection to the relay: connect and try again"),
      );
    }
    return this.#whenConnected();
  }

  #whenConnected(): Promise<void> {
    if (this.#stopped) return Promise.reject(new OmsError("OFFLINE", "the client was closed"));
    if (this.#connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, since: this.#attempts };
      this.#connectWaiters.push(waiter);
      const timer = this.#o.clock.setTimeout(() => {
        this.#connectWaiters = this.#connectWaiters.filter((w) => w !== waiter);
        reject(
          new OmsError(
            "OFFLINE",
            "no connection to the relay; work is kept on this device and syncs when a connection exists",
          ),
        );
      }, this.#o.schedule.connectTimeoutMs);
      const done = () => this.#o.clock.clearTimeout(timer);
      waiter.resolve = () => {
        done();
        resolve();
      };
      waiter.reject = (e) => {
        done();
        reject(e);
      };
      if (this.#status.state === "offline" || this.#status.state === "error") void this.#connect();
    });
  }

  /**
   * Runs a sync and resolves when it completes. A call during a run waits for one more run that
   * starts after it (shared by every caller meanwhile), so it covers what was true at the call.
   */
  now(): Promise<void> {
    if (this.#stopped) return Promise.reject(new OmsError("OFFLINE", "the client was closed"));
    if (!this.#run) {
      this.#run = this.#syncRun().finally(() => {
        this.#run = undefined;
        this.#runBegun = false;
      });
      return this.#run;
    }
    this.#followUp ??= this.#run
      .catch(() => undefined)
      .then(() => {
        this.#followUp = undefined;
        return this.now();
      });
    return this.#followUp;
  }

  /**
   * One run. A connection lost during it is waited for (each wait bounded by connectTimeoutMs) and
   * the run tried again, up to three times, so a flapping connection does not fail a sync.
   */
  async #syncRun(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#attempt();
      } catch (err) {
        if (!(err instanceof ConnectionLost) || this.#stopped || attempt >= 3) throw err;
      }
    }
  }

  async #attempt(): Promise<void> {
    this.#runBegun = false;
    await this.#whenConnected();
    this.#runBegun = true;
    this.#runBytes = { sent: 0, received: 0 };
    const localTime = this.#o.clock.now();
    const session = await this.#session();
    await this.#o.onSession(session);
    this.#set({
      state: "syncing",
      progress: { documentsDone: 0, documentsTotal: 0, bytesSent: 0, bytesReceived: 0 },
    });
    // The scope can grow during the run (the workspace brings new "My" ids): repeat until it
    // stops growing, so "complete" covers every document in scope at the end.
    const handles: DocHandle<unknown>[] = [];
    const loaded = new Set<string>();
    // Documents the relay confirms are in sync need no loading: a reconnect that changed
    // nothing costs one exchange, not a round of messages per document.
    // A first sync shows its progress as the bulk pages are written.
    const bulkProgress = (done: number, total: number) =>
      this.#set({ progress: this.#progressOf(done, total) });
    const confirmed = this.#o.inSync
      ? await this.#o.inSync(this.#o.scope(), bulkProgress).catch((err) => {
          // The network failed: the run is tried again and resumes where the device is. Any
          // other trouble (an older relay): everything syncs the usual way.
          if (isNetworkFailure(err)) throw new ConnectionLost();
          return new Set<string>();
        })
      : new Set<string>();
    for (const id of confirmed) loaded.add(id);
    this.#confirmed = confirmed.size;
    for (let ids = this.#o.scope(); ids.some((id) => !loaded.has(id)); ids = this.#o.scope()) {
      const fresh = ids.filter((id) => !loaded.has(id));
      for (const id of fresh) loaded.add(id);
      this.#set({
        state: "syncing",
        progress: {
          ...this.#status.progress,
          documentsTotal: loaded.size,
          bytesSent: this.#runBytes.sent,
          bytesReceived: this.#runBytes.received,
        },
      });
      for (let i = 0; i < fresh.length; i += this.#o.schedule.maxDocumentsInFlight) {
        const batch = fresh.slice(i, i + this.#o.schedule.maxDocumentsInFlight);
        const found = await Promise.all(
          batch.map((id) =>
            this.#o.repo
              .find(id as never, { allowableStates: ["ready", "unavailable"] })
              .catch(() => undefined),
          ),
        );
        for (const h of found) if (h?.isReady()) handles.push(h as DocHandle<unknown>);
        this.#progress(handles, loaded.size);
      }
      await this.#untilSynced(handles, loaded.size, session.heads ?? {});
    }
    // Also when everything was confirmed and nothing loaded: the progress shows the whole scope.
    this.#progress(handles, loaded.size);
    await this.#o.onComplete(session.relayTime.time, localTime, handles, session.relayTime.receipt);
    this.#set({ state: "complete", lastCompleteSync: session.relayTime.time, pendingDocuments: 0 });
  }

  /** True when the relay reported, after storing it, exactly this device's heads. */
  isSynced(handle: DocHandle<unknown>): boolean {
    const relay = this.#o.adapter.relayPeerId;
    const storageId = relay ? this.#o.repo.getStorageIdOfPeer(relay as PeerId) : undefined;
    const theirs = storageId ? handle.getSyncInfo(storageId)?.lastHeads : undefined;
    if (!theirs || !handle.isReady()) return false;
    const mine = handle.heads();
    return sameHeads(theirs, mine);
  }

  #progress(handles: DocHandle<unknown>[], total: number): number {
    const done = handles.filter((h) => this.isSynced(h)).length;
    this.#set({
      progress: this.#progressOf(done + this.#confirmed, total),
      pendingDocuments: handles.length - done,
    });
    return done;
  }

  #progressOf(documentsDone: number, documentsTotal: number): SyncStatus["progress"] {
    const { sent, received } = this.#runBytes;
    return { documentsDone, documentsTotal, bytesSent: sent, bytesReceived: received };
  }

  #untilSynced(
    handles: DocHandle<unknown>[],
    total: number,
    relayHeadsNow: Record<string, string[]>,
  ): Promise<void> {
    // Besides what the relay last reported, the device must hold what the session said the relay
    // had when the run began (changes the relay made but had not sent yet).
    const holds = (h: DocHandle<unknown>) => {
      const wanted = relayHeadsNow[h.url];
      return (
        !wanted ||
        (h.isReady() && A.hasHeads(h.doc() as A.Doc<unknown>, decodeHeads(wanted as never)))
      );
    };
    return new Promise((resolve, reject) => {
      const cleanups: (() => void)[] = [];
      const finish = (err?: unknown) => {
        for (const c of cleanups) c();
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        if (!this.#connected) return finish(new ConnectionLost());
        // A document refused and deleted on this device (quarantined) no longer counts.
        for (let i = handles.length - 1; i >= 0; i--)
          if (!handles[i]?.isReady()) handles.splice(i, 1);
        if (this.#progress(handles, total) === handles.length && handles.every(holds)) finish();
      };
      for (const h of handles) {
        h.on("remote-heads", check);
        h.on("heads-changed", check);
        cleanups.push(() => {
          h.off("remote-heads", check);
          h.off("heads-changed", check);
        });
      }
      const timer = this.#o.clock.setTimeout(
        () =>
          finish(
            new OmsError(
              "OFFLINE",
              `the sync did not complete in ${this.#o.schedule.syncTimeoutMs} ms; it will be retried`,
            ),
          ),
        this.#o.schedule.syncTimeoutMs,
      );
      cleanups.push(() => this.#o.clock.clearTimeout(timer));
      const lost = this.subscribe((s) => {
        if (s.state === "offline" || s.state === "error") check();
      });
      cleanups.push(lost);
      this.#recheck = check;
      cleanups.push(() => {
        if (this.#recheck === check) this.#recheck = undefined;
      });
      check();
    });
  }

  /** Keeps `pendingDocuments` and the state honest as the user edits between runs. */
  watch(handle: DocHandle<unknown>): void {
    if (this.#watched.has(handle.documentId)) return;
    const update = () => {
      if (this.#run || !this.#connected) return;
      const synced = this.isSynced(handle);
      if (!synced && this.#status.state === "complete") this.#set({ state: "syncing" });
      if (synced && this.#status.state === "syncing") {
        const all = Object.values(this.#o.repo.handles).filter((h) =>
          this.#watched.has(h.documentId),
        );
        if (all.every((h) => !h.isReady() || this.isSynced(h)))
          this.#set({ state: "complete", pendingDocuments: 0 });
      }
    };
    handle.on("heads-changed", update);
    handle.on("remote-heads", update);
    this.#watched.set(handle.documentId, () => {
      handle.off("heads-changed", update);
      handle.off("remote-heads", update);
    });
  }
}
