import { getHeads, type Patch } from "@automerge/automerge";
import {
  type DocHandle,
  type DocumentId,
  decodeHeads,
  type PeerId,
  Repo,
  type StorageAdapterInterface,
} from "@automerge/automerge-repo";
import { flushReady } from "../adapters/flush-ready.js";
import { ClientSocketAdapter } from "../adapters/network-ws-client.js";
import { ScopedStorageAdapter } from "../adapters/storage-scoped.js";
import { createAssistanceRequest, type NewAssistanceRequest } from "../docs/assistance.js";
import type { CataloguePage } from "../docs/catalogue.js";
import { OmsError, ValidationError } from "../docs/errors.js";
import { bucketDigests, bucketOf, headsHash } from "../docs/heads-digest.js";
import type { DocId, MessageId, OrganizationId, UserId } from "../docs/ids.js";
import {
  addSubmissionRequest,
  checkOrderComplete,
  convertQuoteToOrder,
  createOrder,
} from "../docs/order.js";
import { createQuote, type NewCommercialDocument } from "../docs/quote.js";
import type {
  AcceptedOutcome,
  AssistanceRequest,
  Inbox,
  InboxMessage,
  Ledger,
  Order,
  Organization,
  Quote,
  Workspace,
  WorkspaceEntry,
} from "../docs/types.js";
import {
  addToMy,
  markRead,
  myChanges,
  myEntries,
  myEntry,
  myIds,
  removeFromMy,
} from "../docs/workspace.js";
import { type AccessPolicy, defaultAccessPolicy } from "../policy/access.js";
import type { Principal } from "../policy/principal.js";
import type { GateConfig, GatedFunction, GateState } from "../policy/staleness-gate.js";
import {
  changesSinceSubmission,
  type SubmissionState,
  standingAcceptance,
  submissionState,
  transmittedView,
} from "../policy/submission-state.js";
import { validateWrite } from "../policy/write-validation.js";
import type { RefusalNotice } from "../relay/protocol.js";
import { type BulkFetchContext, fetchMissing, resumeBulk } from "./bulk-fetch.js";
import { type CatalogueSearch, searchCatalogue } from "./catalogue-search.js";
import { ClientGate } from "./client-gate.js";
import { type Clock, systemClock } from "./clock.js";
import {
  openPartition,
  type StorageOption,
  sessionMatches,
  tokenPrincipal,
} from "./device-partition.js";
import { DeviceStore } from "./device-store.js";
import { type HandleContext, type OmsDocumentHandle, wrapHandle } from "./document-handle.js";
import { WriteRefusedError } from "./errors.js";
import { type MyRow, MyRows } from "./my-rows.js";
import { Quarantine, type QuarantineEntry, type QuarantineExport } from "./quarantine.js";
import { QuietDocuments } from "./quiet-documents.js";
import { reconcileRelayRestore } from "./relay-restore.js";
import { fetchSession, httpUrlOf, type SessionResponse } from "./session.js";
import { standingRequest } from "./standing-request.js";
import { defaultSchedule, SyncEngine, type SyncSchedule } from "./sync-engine.js";
import type { SyncStatus } from "./sync-status.js";
import { SyncedHeads } from "./synced-heads.js";

export type { MyRow, StorageOption };

export interface ClientOptions {
  /** The relay's WebSocket URL, e.g. `wss://relay.example.com`. Its HTTP endpoints share the host. */
  url: string;
  /** The user's token (a JWT). */
  token?: string;
  /** Called for a fresh token when the relay refuses the current one. */
  getToken?: () => string | Promise<string>;
  /**
   * Default: "indexeddb" in a browser, "memory" elsewhere. `{ folder }` stores files (Node).
   * Whatever is chosen, each user gets a partition of their own: a database `name:org:user`, a
   * subfolder, or a key prefix of the adapter passed (see docs/client.md).
   */
  storage?: StorageOption;
  clock?: Clock;
  schedule?: Partial<SyncSchedule>;
  gate?: Partial<GateConfig>;
  policy?: AccessPolicy;
  fetch?: typeof fetch;
}

/** The My-index entries of one kind, each opened. */
export interface Listed<T> {
  readonly id: DocId;
  readonly doc: T;
}

export interface DocumentCollection<T, New> {
  /** The user's own documents of this kind ("My Quotes", …), from the device when offline. */
  list(): Promise<Listed<T>[]>;
  /**
   * "My" documents of this kind as a list view shows them (customer, project, total, lines,
   * dates, and for orders the state, order number and revision), most recently updated first.
   * Read from a small index of rows kept beside the documents: no document is opened, so a
   * list of thousands is cheap. Rows have the shape of catalogue search results
   * (`CatalogueEntry`): one list component shows both.
   *
   * @example
   * ```ts
   * const rows = await client.orders.rows();
   * render(rows.map((r) => `${r.customer} · ${r.project} · ${r.state}`));
   * ```
   */
  rows(): Promise<MyRow[]>;
  /**
   * Calls `listener` with the rows of this kind (as `rows()` returns them) after they change: a
   * local edit, a change synced from elsewhere, a document added to or removed from "My", and
   * for orders a submission outcome. Not called with the current rows: call `rows()` for those.
   * Changes close together are reported once. Returns the function that unsubscribes.
   *
   * @example
   * ```ts
   * const stop = client.quotes.subscribe((rows) => setQuoteRows(rows));
   * ```
   */
  subscribe(listener: (rows: MyRow[]) => void): () => void;
  /** Opens one by id: from the device if it is there, else from the relay (connected only). */
  open(id: DocId | string): Promise<OmsDocumentHandle<T>>;
  create(input: New): Promise<OmsDocumentHandle<T>>;
  /** Finds documents of this kind on the relay (connected only): see docs/client.md. */
  search(options?: CatalogueSearch): Promise<CataloguePage>;
}

export interface OrderCollection extends DocumentCollection<Order, NewDocumentInput> {
  /** A new order copied from a quote (the quote is unchanged). */
  createFromQuote(quoteId: DocId | string): Promise<OmsDocumentHandle<Order>>;
  /** Writes a submission request for the order as it is now; it goes with the next sync. */
  submit(id: DocId | string): Promise<string>;
  /** Where the order stands, from its requests and the ledger. */
  state(id: DocId | string): Promise<SubmissionState>;
  /** The order as accepted (the latest accepted revision), or undefined if none. */
  transmitted(id: DocId | string): Promise<Order | undefined>;
  /** What changed since the latest accepted revision (empty: nothing to amend). */
  changesSinceSubmission(id: DocId | string): Promise<Patch[]>;
}

export type NewDocumentInput = Omit<NewCommercialDocument, "owner" | "organization">;
export type NewAssistanceInput = Omit<NewAssistanceRequest, "owner" | "organization">;

export interface OmsClient {
  /** The signed-in user. */
  readonly user: Principal;
  readonly quotes: DocumentCollection<Quote, NewDocumentInput>;
  readonly orders: OrderCollection;
  readonly assistance: DocumentCollection<AssistanceRequest, NewAssistanceInput>;
  readonly ledger: {
    get(): Promise<Ledger>;
    subscribe(listener: (ledger: Ledger) => void): Promise<() => void>;
  };
  readonly inbox: {
    messages(): Promise<(InboxMessage & { id: MessageId; read: boolean })[]>;
    markRead(id: MessageId | string): Promise<void>;
    /**
     * Calls `listener` with the messages after every change of the inbox (a message from the
     * relay) or of what the user marked read; resolves to the unsubscribe function.
     */
    subscribe(
      listener: (messages: (InboxMessage & { id: MessageId; read: boolean })[]) => void,
    ): Promise<() => void>;
  };
  readonly organization: { get(): Promise<Organization> };
  readonly sync: {
    readonly status: SyncStatus;
    subscribe(listener: (status: SyncStatus) => void): () => void;
    /** Resolves when a sync completes; rejects (OFFLINE, AUTH_…) otherwise. */
    now(): Promise<void>;
  };
  readonly gate: {
    readonly state: GateState;
    isEnabled(fn: GatedFunction): boolean;
    subscribe(listener: (state: GateState) => void): () => void;
  };
  /**
   * Documents whose local changes the relay refused (access revoked while offline, a write the
   * relay's rules forbid). Each is kept until discarded; the document itself returns to the
   * relay's version (or leaves "My" when access was lost).
   */
  readonly quarantine: {
    list(): Promise<QuarantineEntry[]>;
    /** The document as this device had it and the refused changes, as JSON text. */
    export(documentId: DocId | string): Promise<string>;
    /** Forgets an entry (after its content was passed on); false if there was none. */
    discard(documentId: DocId | string): Promise<boolean>;
    subscribe(listener: (entries: QuarantineEntry[]) => void): () => void;
  };
  /**
   * Resolves when every change made through this client so far is stored on the device. Each
   * change is written right after the call that made it returns (a page going away stores what
   * is pending first); await this where
   * a caller must know, before closing a window or handing the device over, say.
   */
  flush(): Promise<void>;
  /** Stores everything and disconnects. */
  close(): Promise<void>;
}

function withToken(url: string, token: string): string {
  const u = new URL(url);
  u.searchParams.set("token", token);
  return u.toString();
}

const randomId = () => Math.random().toString(36).slice(2) + Date.now().toString(36);

/**
 * Starts a client: reads the session from the relay (or, for offline users, from the device when
 * the relay is unreachable), opens local storage, connects and syncs in the background.
 *
 * @example
 * ```ts
 * const client = await createClient({ url: "wss://relay.example.com", token, storage: "indexeddb" });
 * const quote = await client.quotes.create({ currency: "USD", projectName: "Lake house" });
 * quote.change((q) => addLineItem(q, { productCode: "DH-3046", quantity: 2, unitPrice: 45_900 }));
 * client.sync.subscribe((s) => showIcon(s.state, s.progress));
 * ```
 */
export async function createClient(options: ClientOptions): Promise<OmsClient> {
  if (!options.token && !options.getToken) {
    throw new OmsError("AUTH_REQUIRED", "createClient needs a token or a getToken callback");
  }
  const clock = options.clock ?? systemClock;
  const httpUrl = httpUrlOf(options.url);
  let token = options.token ?? (await options.getToken?.()) ?? "";
  // Whose partition of the device this client opens: the token's claims, unverified (see
  // tokenPrincipal); the relay checks the token itself before it serves anything.
  const claims = tokenPrincipal(token);
  const tokens = {
    current: () => token,
    refresh: async () => {
      if (!options.getToken) return undefined;
      const fresh = await options.getToken();
      if (!fresh || fresh === token) return undefined;
      if (!samePerson(tokenPrincipal(fresh), claims))
        throw new OmsError(
          "AUTH_REQUIRED",
          `getToken returned a token for another user than ${claims.userId} of ${claims.organization}: close this client and create one for the new user`,
        );
      token = fresh;
      return fresh;
    },
  };
  let device: StorageAdapterInterface | undefined;
  const openDevice = async () => {
    device ??= await openPartition(options.storage, claims);
    return device;
  };

  let session: SessionResponse | undefined;
  let sessionIsFresh = true;
  try {
    session = await fetchSession(httpUrl, token, options.fetch ? { fetch: options.fetch } : {});
  } catch (err) {
    if (!(err instanceof OmsError)) throw err;
    if (err.code !== "OFFLINE") {
      const fresh = await tokens.refresh().catch(() => undefined);
      if (!fresh) throw err;
      session = await fetchSession(
        httpUrl,
        fresh,
        options.fetch ? { fetch: options.fetch } : {},
      ).catch(() => undefined);
    }
    if (!session) {
      if (!claims.offline) {
        throw new OmsError(
          "OFFLINE",
          `the relay at ${httpUrl} cannot be reached, and this account has no offline access (its token does not grant the Offline permission): connect to the network and try again`,
          { cause: err },
        );
      }
      sessionIsFresh = false;
      const cached = await new DeviceStore(await openDevice()).get<SessionResponse>("session");
      // Only the token holder's own session: the partition is theirs, and the record must say so.
      if (cached && sessionMatches(cached, claims)) session = cached;
    }
    if (!session) {
      throw new OmsError(
        "OFFLINE",
        `the relay at ${httpUrl} cannot be reached and this device holds no session of ${claims.userId} (${claims.organization}): the first start of a user on a device needs a connection`,
        { cause: err },
      );
    }
  }
  if (sessionIsFresh && !sessionMatches(session, claims)) {
    throw new OmsError(
      "AUTH_REQUIRED",
      `the relay answered for ${session.user.userId} (${session.user.organization}), not for the token's ${claims.userId} (${claims.organization}): check the token`,
    );
  }
  // Online-only users keep nothing on the device: their start opens no storage at all.
  const storage = session.user.offline ? await openDevice() : undefined;
  return OmsClientImpl.start({
    ...options,
    clock,
    httpUrl,
    tokens,
    device: storage,
    store: new DeviceStore(storage),
    session,
    sessionIsFresh,
  });
}

interface StartOptions extends ClientOptions {
  clock: Clock;
  httpUrl: string;
  tokens: { current(): string; refresh(): Promise<string | undefined> };
  /** The user's partition of the device; undefined for online-only users. */
  device: StorageAdapterInterface | undefined;
  store: DeviceStore;
  session: SessionResponse;
  /** The session came from the relay now, not from the device's cache. */
  sessionIsFresh: boolean;
}

class OmsClientImpl implements OmsClient {
  readonly #repo: Repo;
  readonly #adapter: ClientSocketAdapter;
  readonly #engine: SyncEngine;
  readonly #gate: ClientGate;
  readonly #store: DeviceStore;
  readonly #scoped: ScopedStorageAdapter | undefined;
  readonly #policy: AccessPolicy;
  readonly #clock: Clock;
  readonly #offline: boolean;
  #session: SessionResponse;
  #principal: Principal;
  /** Ids added to My on this device whose workspace entry may not be written yet. */
  readonly #addedToMy = new Set<string>();
  /**
   * Documents that left "My" while on this device: each is synced once more, so that local
   * changes reach the relay or, if refused, the quarantine, before the copy is dropped.
   */
  #departing = new Set<string>();
  #myKnown: Set<string> | undefined;
  #watchingWorkspace = false;
  /** "My" entries of a workspace the relay lost, to carry into the new one once it is loaded. */
  #carry: Record<string, WorkspaceEntry> = {};
  /** This device worked with the relay before: the next session is checked for a relay's loss. */
  #checkRelayLoss = false;
  /** Documents the last digest exchange found different on the relay. */
  #differing = new Set<string>();
  readonly #quarantine: Quarantine;
  readonly #synced: SyncedHeads;
  readonly #fetch: typeof fetch | undefined;
  readonly #tokens: StartOptions["tokens"];
  readonly #httpUrl: string;
  readonly #refusing = new Map<string, Promise<void>>();
  readonly #ctx: HandleContext;
  readonly #quiet: QuietDocuments;
  readonly #bulkPage: number;
  readonly #rows: MyRows;

  static async start(o: StartOptions): Promise<OmsClientImpl> {
    const client = new OmsClientImpl(o);
    await client.#gate.load();
    client.#departing = new Set((await client.#store.get<string[]>("departing")) ?? []);
    await client.#synced.load();
    const known = await client.#store.get<string[]>("my");
    if (known) client.#myKnown = new Set(known);
    client.#engine.setQuarantined(await client.#quarantine.size());
    // A device's first contact with the relay starts its clock: it holds nothing stale yet.
    if (o.sessionIsFresh)
      await client.#gate.recordFirstContact(
        o.session.relayTime.time,
        o.clock.now(),
        o.session.relayTime.receipt,
      );
    client.#engine.setLastCompleteSync(client.#gate.state.lastSyncAt);
    client.#gate.start();
    // The session this device last worked with: the first sync compares the relay's answer with
    // it, to notice a relay that lost data (relay-restore.ts).
    const cached = client.#offline ? await o.store.get<SessionResponse>("session") : undefined;
    client.#carry = (await o.store.get<Record<string, WorkspaceEntry>>("restore-carry")) ?? {};
    for (const id of Object.keys(client.#carry)) client.#addedToMy.add(id);
    const sameUser =
      cached?.user.userId === o.session.user.userId &&
      cached.user.organization === o.session.user.organization;
    if (cached && sameUser) {
      client.#session = cached;
      client.#checkRelayLoss = true;
    } else if (client.#offline) await o.store.set("session", o.session);
    client.#engine.start();
    return client;
  }

  private constructor(o: StartOptions) {
    this.#session = o.session;
    this.#principal = principalOf(o.session);
    this.#offline = o.session.user.offline;
    this.#policy = o.policy ?? defaultAccessPolicy;
    this.#clock = o.clock;
    // Online-only users keep nothing on the device: no storage at all.
    this.#scoped =
      this.#offline && o.device
        ? new ScopedStorageAdapter(
            o.device,
            (id) => this.#inScope(id),
            (id, removed) => (removed ? this.#rows.forget(id) : this.#rows.touched(id)),
          )
        : undefined;
    this.#store = this.#offline ? o.store : new DeviceStore(undefined);
    this.#gate = new ClientGate(o.clock, this.#store, o.gate ?? {}, this.#offline);
    let engine: SyncEngine | undefined;
    this.#adapter = new ClientSocketAdapter({
      url: () => withToken(o.url, o.tokens.current()),
      autoConnect: false,
      onEvent: (event) => engine?.onSocketEvent(event),
      onBytes: (direction, bytes) => engine?.countBytes(direction, bytes),
      onRefusal: (notice) => void this.#onRefusal(notice),
    });
    this.#repo = new Repo({
      network: [this.#adapter],
      ...(this.#scoped ? { storage: this.#scoped } : {}),
      peerId: `oms-client-${randomId()}` as PeerId,
      shareConfig: {
        // A quiet document opened from the device is not offered to the relay (quiet-documents.ts).
        announce: (_peer, id) =>
          id === undefined ? Promise.resolve(true) : this.#quiet.announce(id),
        access: async () => true,
      },
    });
    this.#quiet = new QuietDocuments(this.#repo);
    engine = new SyncEngine({
      repo: this.#repo,
      adapter: this.#adapter,
      clock: o.clock,
      tokens: o.tokens,
      httpUrl: o.httpUrl,
      ...(o.fetch ? { fetch: o.fetch } : {}),
      schedule: { ...defaultSchedule, ...o.schedule },
      background: this.#offline,
      scope: () => this.#scopeIds(),
      onSession: (session) => this.#onSession(session),
      ...(this.#offline
        ? {
            inSync: (ids: string[], progress?: (done: number, total: number) => void) =>
              this.#inSync(ids, progress),
          }
        : {}),
      onComplete: async (relayTime, localTime, synced, receipt) => {
        await this.#gate.recordCompleteSync(relayTime, localTime, receipt);
        if (this.#offline) await this.#recordSynced(synced);
        await this.#dropDeparted();
      },
    });
    this.#engine = engine;
    this.#bulkPage = o.schedule?.bulkPageDocuments ?? defaultSchedule.bulkPageDocuments;
    this.#quarantine = new Quarantine(this.#store);
    this.#synced = new SyncedHeads(this.#store);
    this.#fetch = o.fetch;
    this.#tokens = o.tokens;
    this.#httpUrl = o.httpUrl;
    this.#ctx = {
      principal: () => this.#principal,
      policy: this.#policy,
      gate: this.#gate,
      changed: (handle) => this.#persistSoon(handle),
      watched: (handle) => this.#quiet.watch(handle.documentId),
    };
    this.#rows = new MyRows({
      device: this.#scoped ? o.device : undefined,
      handle: (id) => this.#repo.handles[id as DocumentId],
      stored: (id) => this.#storedBytes(id),
      open: (id) => this.#find(id, `document ${id}`),
      my: async () => myEntries((await this.#workspace()).doc()),
      // The list of My ids kept on the device (and with the workspace once it is loaded).
      myIds: () => this.#myKnown,
      ledger: () => this.#ledgerForRows(),
    });
    this.#watchPageExit();
  }

  /** A document's chunks on the device, merged as the Repo merges them to load it. */
  async #storedBytes(id: string): Promise<Uint8Array | undefined> {
    const scoped = this.#scoped;
    if (!scoped) return undefined;
    const chunks = [
      ...(await scoped.loadRange([id, "snapshot"])),
      ...(await scoped.loadRange([id, "incremental"])),
    ].flatMap((c) => (c.data ? [c.data] : []));
    if (chunks.length === 0) return undefined;
    const merged = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      merged.set(c, at);
      at += c.length;
    }
    return merged;
  }

  readonly #rowsHeard = new WeakSet<DocHandle<unknown>>();

  /** The ledger, listened to once: a new outcome changes orders' rows. */
  async #ledgerForRows(): Promise<Ledger> {
    const handle = await this.#find<Ledger>(this.#session.documents.ledger, "your ledger");
    if (!this.#rowsHeard.has(handle as DocHandle<unknown>)) {
      this.#rowsHeard.add(handle as DocHandle<unknown>);
      handle.on("change", () => this.#rows.changedKind("order"));
    }
    return handle.doc();
  }

  /** Rows of documents the client opened, for users without device storage to hear it from. */
  #rowOnChange(handle: DocHandle<unknown>): void {
    if (this.#scoped || this.#rowsHeard.has(handle)) return;
    this.#rowsHeard.add(handle);
    handle.on("heads-changed", () => this.#rows.touched(handle.documentId));
  }

  #rowsOf(kind: WorkspaceEntry["kind"]) {
    return {
      rows: () => this.#rows.rows(kind),
      subscribe: (listener: (rows: MyRow[]) => void) => {
        // Loaded now, so that changes to "My" and outcomes in the ledger are heard.
        void this.#workspace().catch(() => undefined);
        if (kind === "order") void this.#ledgerForRows().catch(() => undefined);
        return this.#rows.subscribe(kind, listener);
      },
    };
  }

  readonly #writes = new Set<Promise<void>>();
  #saveError: unknown;

  /**
   * Stores a document changed here now, not after the Repo's save throttle (100 ms): the write
   * is issued before the current task ends, so a page that unloads right after still has it.
   */
  #persist(handle: DocHandle<unknown>): Promise<void> {
    if (!this.#offline) return Promise.resolve();
    const write = this.#repo
      .flush([handle.documentId])
      .then(() => this.#synced.flush())
      .catch((err) => {
        this.#saveError = err;
      });
    this.#writes.add(write);
    void write.finally(() => this.#writes.delete(write));
    return write;
  }

  readonly #persistPending = new Map<string, DocHandle<unknown>>();
  #persistTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Stores an edit made through a handle right after the call that made it returns: the keystroke
   * that typed it does not wait for Automerge's save (nor, now and then, for a compaction of the
   * whole document), and a burst of edits in one task is stored once. `flush()` (and so a page
   * going away) issues what is pending at once, in its own task.
   */
  #persistSoon(handle: DocHandle<unknown>): void {
    if (!this.#offline) return;
    this.#persistPending.set(handle.documentId, handle);
    this.#persistTimer ??= setTimeout(() => this.#persistNow(), 0);
  }

  #persistNow(): void {
    clearTimeout(this.#persistTimer);
    this.#persistTimer = undefined;
    const handles = [...this.#persistPending.values()];
    this.#persistPending.clear();
    for (const handle of handles) void this.#persist(handle);
  }

  /** A page that goes away (closed, reloaded, hidden on a phone) stores what is pending first. */
  #watchPageExit(): void {
    const target = globalThis as { addEventListener?: typeof addEventListener };
    if (!this.#offline || typeof target.addEventListener !== "function") return;
    const flush = () => void this.flush().catch(() => undefined);
    const hidden = () => {
      if ((globalThis as { document?: Document }).document?.visibilityState === "hidden") flush();
    };
    target.addEventListener("pagehide", flush);
    target.addEventListener("visibilitychange", hidden);
    this.#unwatchPageExit = () => {
      globalThis.removeEventListener?.("pagehide", flush);
      globalThis.removeEventListener?.("visibilitychange", hidden);
    };
  }

  #unwatchPageExit: () => void = () => undefined;

  async flush(): Promise<void> {
    this.#persistNow();
    await Promise.all([...this.#writes]);
    await flushReady(this.#repo);
    await this.#synced.flush();
    await this.#rows.flush();
    if (this.#myKnownTimer) await this.#saveMyKnown();
    const error = this.#saveError;
    this.#saveError = undefined;
    if (error)
      throw new OmsError(
        "INTERNAL",
        `a change could not be stored on this device (${String(error)}); it is still in memory: keep the page open and free some storage`,
        { cause: error },
      );
  }

  get user(): Principal {
    return this.#principal;
  }

  async #onSession(session: SessionResponse): Promise<void> {
    if (this.#checkRelayLoss) await this.#afterRelayLoss(session);
    this.#session = session;
    this.#principal = principalOf(session);
    if (this.#offline) await this.#store.set("session", session);
  }

  /** Hands back to a relay that lost data what this device holds of it (relay-restore.ts). */
  async #afterRelayLoss(session: SessionResponse): Promise<void> {
    const found = await reconcileRelayRestore({
      repo: this.#repo,
      previous: this.#session,
      next: session,
      session: () =>
        fetchSession(
          this.#httpUrl,
          this.#tokens.current(),
          this.#fetch ? { fetch: this.#fetch } : {},
        ),
      post: (path, body) => this.#post(path, body, (r) => r.json()),
    });
    if (!found) return;
    if (Object.keys(found.carry).length > 0) {
      this.#carry = { ...this.#carry, ...found.carry };
      for (const id of Object.keys(found.carry)) this.#addedToMy.add(id);
      await this.#store.set("restore-carry", this.#carry);
    }
    if (session.documents.workspace !== this.#session.documents.workspace)
      this.#watchingWorkspace = false;
    // The relay's copy, with the learned entries written again, replaces this device's.
    for (const id of found.drop) this.#repo.delete(id as DocumentId);
    if (found.drop.length > 0) await this.#synced.forget(found.drop);
  }

  #ownIds(): string[] {
    const d = this.#session.documents;
    return [d.workspace, d.ledger, d.inbox, d.organization].map(idOf);
  }

  #myIds(): string[] {
    const workspace = this.#repo.handles[idOf(this.#session.documents.workspace) as DocumentId];
    const listed = workspace?.isReady() ? myIds(workspace.doc() as Workspace) : [];
    return [...new Set([...listed, ...this.#addedToMy])];
  }

  /** Asked on every save: a key lookup, not a scan of the "My" index. */
  #inScope(documentId: string): boolean {
    if (
      this.#addedToMy.has(documentId) ||
      this.#departing.has(documentId) ||
      this.#synced.knows(documentId) ||
      this.#ownIds().includes(documentId)
    )
      return true;
    const workspace = this.#repo.handles[idOf(this.#session.documents.workspace) as DocumentId];
    return (
      workspace?.isReady() === true &&
      myEntry(workspace.doc() as Workspace, documentId) !== undefined
    );
  }

  #scopeIds(): DocumentId[] {
    if (!this.#offline) {
      return Object.values(this.#repo.handles)
        .filter((h) => h.isReady())
        .map((h) => h.documentId);
    }
    this.#watchWorkspace();
    return [
      ...new Set([
        ...this.#ownIds(),
        ...this.#myIds(),
        ...this.#departing,
        // Changed here, or changed on the relay: synced even while "My" is not loaded.
        ...this.#synced.dirtyIds(),
        ...this.#differing,
      ]),
    ] as DocumentId[];
  }

  /**
   * Asks the relay which documents differ from what this device last synced: a digest per bucket
   * of the unchanged ones goes up; the relay answers with its documents in the buckets that
   * differ. The rest need no loading this run.
   */
  async #inSync(
    ids: string[],
    onProgress?: (done: number, total: number) => void,
  ): Promise<Set<string>> {
    // A first sync killed while it wrote a page: what it wrote counts as synced (bulk-fetch.ts).
    if (this.#scoped) await resumeBulk(this.#bulkContext(this.#scoped));
    // Every document this device holds as synced, not only the scope it knows now: "My" may not
    // be loaded, and need not be when nothing changed.
    const candidates = new Map<string, string>();
    for (const id of [...ids, ...this.#synced.syncedIds()]) {
      const hash = this.#synced.hash(id);
      if (hash) candidates.set(id, hash);
    }
    const differing = await this.#post<{ differing: Record<string, [string, string][]> }>(
      "/v1/sync/digest",
      { buckets: await bucketDigests(candidates), exclude: this.#synced.dirtyIds() },
      (r) => r.json(),
    );
    // An older relay, or any trouble: sync everything the usual way.
    if (!differing) return new Set();
    const confirmed = new Set<string>();
    const gone: string[] = [];
    for (const [id, hash] of candidates) {
      const bucket = differing.differing[bucketOf(id)];
      const theirs = bucket?.find(([other]) => other === id);
      if (!bucket || theirs?.[1] === hash) confirmed.add(id);
      // Out of the user's scope now (left "My", access lost): no longer a synced document.
      else if (!theirs && !ids.includes(id)) gone.push(id);
    }
    if (gone.length > 0) await this.#synced.forget(gone);
    for (const id of await this.#fetchMissing(differing.differing, candidates, onProgress))
      confirmed.add(id);
    this.#quiet.set(confirmed, [...this.#ownIds(), ...this.#departing]);
    this.#differing = new Set(
      Object.values(differing.differing)
        .flat()
        .map(([id]) => id)
        .filter((id) => !confirmed.has(id)),
    );
    return confirmed;
  }

  /**
   * Documents of the user's scope this device has nowhere (a first sync, or new ones) come in
   * bulk, as the relay stores them, straight to the device: no per-document sync, no loading.
   */
  async #fetchMissing(
    differing: Record<string, [string, string][]>,
    candidates: ReadonlyMap<string, string>,
    onProgress?: (done: number, total: number) => void,
  ): Promise<string[]> {
    const scoped = this.#scoped;
    if (!scoped) return [];
    const unknown: string[] = [];
    for (const list of Object.values(differing)) {
      for (const [id] of list) {
        if (!candidates.has(id) && !this.#repo.handles[id as DocumentId]) unknown.push(id);
      }
    }
    // Asked together: the IndexedDB adapter answers them in one transaction, not one each.
    const stored = await Promise.all(
      unknown.map(async (id) => (await scoped.loadRange([id])).length > 0),
    );
    const missing = unknown.filter((_, i) => !stored[i]);
    return fetchMissing(
      { ...this.#bulkContext(scoped), ...(onProgress ? { onProgress } : {}) },
      missing,
    );
  }

  #bulkContext(scoped: ScopedStorageAdapter): BulkFetchContext {
    return {
      device: scoped,
      store: this.#store,
      synced: this.#synced,
      loaded: (id) => this.#repo.handles[id as DocumentId] !== undefined,
      post: (path, body, read) => this.#post(path, body, read),
      pageSize: this.#bulkPage,
      keepRow: (id, heads, row) => this.#rows.received(id, heads, row),
    };
  }

  /** POSTs JSON to the relay; undefined when it answers anything but 2xx. */
  async #post<T>(
    path: string,
    body: unknown,
    read: (response: Response) => Promise<unknown>,
  ): Promise<T | undefined> {
    const response = await (this.#fetch ?? globalThis.fetch)(`${this.#httpUrl}${path}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${this.#tokens.current()}`,
        "content-type": "application/json",
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    if (!response.ok) return undefined;
    return (await read(response)) as T;
  }

  /** Remembers, for the next reconnect, the heads at which the relay stores what this run synced. */
  async #recordSynced(handles: DocHandle<unknown>[]): Promise<void> {
    const synced = new Map<string, string>();
    for (const handle of handles) {
      if (!handle.isReady() || !this.#engine.isSynced(handle)) continue;
      synced.set(handle.documentId, await headsHash(decodeHeads(handle.heads())));
    }
    await this.#synced.record(synced);
  }

  /** Notices documents leaving "My" (an admin reassigned them, another device removed them). */
  #watchWorkspace(): void {
    if (this.#watchingWorkspace || !this.#offline) return;
    const workspace = this.#repo.handles[idOf(this.#session.documents.workspace) as DocumentId];
    if (!workspace?.isReady()) return;
    this.#watchingWorkspace = true;
    const carried = Object.entries(this.#carry);
    if (carried.length > 0) {
      workspace.change((w) => {
        for (const [id, entry] of carried)
          addToMy(w as Workspace, id as DocId, entry.kind, entry.addedAt);
      });
      // Written into "My" now: a later departure of one of them must be noticed like any other.
      for (const [id] of carried) this.#addedToMy.delete(id);
      this.#carry = {};
      void this.#store.set("restore-carry", {});
    }
    workspace.on("change", ({ doc, patches }) => {
      // The patches name the entries a change added or removed: a create costs the same with
      // 10 or 10,000 documents in My. Only a change they cannot describe compares all of My.
      const delta = myChanges(patches);
      if (delta && this.#myKnown) void this.#noticeDelta(delta);
      else void this.#noticeDepartures(doc as Workspace);
    });
    void this.#noticeDepartures(workspace.doc() as Workspace);
  }

  async #noticeDelta(delta: { added: string[]; removed: string[] }): Promise<void> {
    const known = this.#myKnown as Set<string>;
    const left = delta.removed.filter((id) => known.has(id) && !this.#addedToMy.has(id));
    for (const id of delta.added) known.add(id);
    for (const id of delta.removed) known.delete(id);
    if (left.length === 0) {
      if (delta.added.length > 0 || delta.removed.length > 0) this.#saveMyKnownSoon();
      return;
    }
    await this.#recordDepartures(left);
  }

  #myKnownTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * The list of My ids is written a moment after additions, once for a burst of them, not with
   * each: it is only read at start, to notice removals, and one missing a document added in the
   * last second before a crash leaves at worst that document's copy on the device.
   */
  #saveMyKnownSoon(): void {
    this.#myKnownTimer ??= setTimeout(() => void this.#saveMyKnown(), 1_000);
  }

  async #saveMyKnown(): Promise<void> {
    clearTimeout(this.#myKnownTimer);
    this.#myKnownTimer = undefined;
    if (this.#myKnown) await this.#store.set("my", [...this.#myKnown]);
  }

  async #recordDepartures(left: string[]): Promise<void> {
    // Departures count at once (a sync run asking for its scope right now must see them).
    for (const id of left) this.#departing.add(id);
    await this.#saveMyKnown();
    await this.#store.set("departing", [...this.#departing]);
    if (this.#engine.connected) void this.#engine.now().catch(() => undefined);
  }

  /**
   * Compares "My" with the ids this device last saw in it (kept on the device, so a removal that
   * arrived while the client was closed, or before it looked, is noticed too).
   */
  async #noticeDepartures(workspace: Workspace): Promise<void> {
    const now = myIds(workspace);
    const known = this.#myKnown;
    this.#myKnown = new Set(now);
    if (known && known.size === now.length && now.every((id) => known.has(id))) return;
    const left = known
      ? [...known].filter((id) => !this.#myKnown?.has(id) && !this.#addedToMy.has(id))
      : [];
    if (left.length === 0) await this.#saveMyKnown();
    else await this.#recordDepartures(left);
  }

  /** After a complete sync, departed documents are stored by the relay: drop the local copies. */
  async #dropDeparted(): Promise<void> {
    if (this.#departing.size === 0) return;
    for (const id of [...this.#departing]) {
      if (this.#inScopeViaMy(id)) {
        this.#departing.delete(id);
        continue;
      }
      const handle = this.#repo.handles[id as DocumentId];
      if (handle?.isReady() && !this.#engine.isSynced(handle as DocHandle<unknown>)) continue;
      if (handle) this.#repo.delete(id as DocumentId);
      this.#departing.delete(id);
      await this.#synced.forget([id]);
    }
    await this.#store.set("departing", [...this.#departing]);
  }

  #inScopeViaMy(id: string): boolean {
    const workspace = this.#repo.handles[idOf(this.#session.documents.workspace) as DocumentId];
    return workspace?.isReady() === true && myEntry(workspace.doc() as Workspace, id) !== undefined;
  }

  /** The relay refused this device's changes to a document: keep them, tell the user, move on. */
  #onRefusal(notice: RefusalNotice): Promise<void> {
    const id = notice.documentId;
    // Only a refusal the relay means for good; TRY_LATER ones go again with the next sync.
    if (notice.reasons.every((r) => r.code === "TRY_LATER")) return Promise.resolve();
    const previous = this.#refusing.get(id) ?? Promise.resolve();
    const next = previous.then(() => this.#quarantineDocument(id, notice)).catch(() => undefined);
    this.#refusing.set(id, next);
    return next;
  }

  async #quarantineDocument(id: string, notice: RefusalNotice): Promise<void> {
    const accessLost = notice.reasons.some((r) => r.code === "ACCESS_REVOKED");
    const handle = this.#repo.handles[id as DocumentId];
    if (handle?.isReady()) {
      await this.#quarantine.add({
        documentId: id,
        doc: handle.doc() as never,
        reasons: notice.reasons,
        accessLost,
        relayHeads: notice.heads,
        now: this.#now(),
      });
      this.#engine.setQuarantined(await this.#quarantine.size());
      // The copy goes: the relay's version comes back with the next sync (when still readable).
      this.#repo.delete(id as DocumentId);
      await this.#synced.forget([id]);
    }
    if (accessLost) {
      this.#addedToMy.delete(id);
      const workspace = this.#repo.handles[idOf(this.#session.documents.workspace) as DocumentId];
      if (workspace?.isReady() && myEntry(workspace.doc() as Workspace, id) !== undefined) {
        workspace.change((w) => removeFromMy(w as Workspace, id as DocId));
        this.#persist(workspace as DocHandle<unknown>);
      }
      // After the change: its listener counts the document as departing.
      this.#departing.delete(id);
      await this.#store.set("departing", [...this.#departing]);
    }
    this.#engine.recheck();
  }

  async #find<T>(id: string, what: string): Promise<DocHandle<T>> {
    const documentId = idOf(id) as DocumentId;
    // A document this device synced is opened from the device at once; otherwise "My" (read
    // from the workspace, which must be loaded to tell) says whether it is kept here.
    const synced = this.#offline && this.#synced.knows(documentId);
    if (this.#offline && !synced && !this.#ownIds().includes(documentId))
      await this.#workspace().catch(() => undefined);
    const local = synced || (this.#offline && this.#inScope(documentId));
    if (!local) {
      await this.#engine.waitForConnection().catch((cause) => {
        throw new OmsError(
          "OFFLINE",
          `${what} is not kept on this device: connect to the relay to open it`,
          { cause },
        );
      });
    }
    const find = async () => {
      const handle = await this.#repo.find<T>(documentId);
      this.#engine.watch(handle as DocHandle<unknown>);
      this.#trackChanges(handle as DocHandle<unknown>);
      this.#rowOnChange(handle as DocHandle<unknown>);
      return handle;
    };
    try {
      return await find();
    } catch (cause) {
      // Not on the device (yet): if a connection is coming, the relay may have it.
      if (
        local &&
        (await this.#engine.waitForConnection().then(
          () => true,
          () => false,
        ))
      ) {
        try {
          return await find();
        } catch {
          // fall through to the error below
        }
      }
      throw new OmsError(
        "NOT_FOUND",
        local
          ? `${what} is not on this device yet: sync to fetch it`
          : `${what} does not exist or you may not read it: check the id (rows() lists your own documents, search() the others you may read)`,
        { cause },
      );
    }
  }

  readonly #tracked = new WeakSet<DocHandle<unknown>>();

  /** A document this device may change is synced the usual way once it changed. */
  #trackChanges(handle: DocHandle<unknown>): void {
    if (!this.#offline || this.#tracked.has(handle)) return;
    this.#tracked.add(handle);
    handle.on("heads-changed", () => {
      // Only a document kept on the device (a manager's look at a rep's quote is not).
      if (!this.#engine.isSynced(handle) && this.#inScope(handle.documentId)) {
        this.#synced.markDirty(handle.documentId);
        this.#quiet.wake(handle.documentId);
      }
    });
  }

  async #workspace(): Promise<DocHandle<Workspace>> {
    const handle = await this.#find<Workspace>(this.#session.documents.workspace, "your workspace");
    this.#watchWorkspace();
    if (!this.#rowsHeard.has(handle as DocHandle<unknown>)) {
      this.#rowsHeard.add(handle as DocHandle<unknown>);
      handle.on("change", ({ patches }) => {
        if (patches.some((p) => p.path[0] === "my" || p.path[0] === "myParts"))
          this.#rows.changedKind();
      });
    }
    return handle;
  }

  async #list<T>(kind: WorkspaceEntry["kind"]): Promise<Listed<T>[]> {
    const workspace = (await this.#workspace()).doc();
    const ids = Object.entries(myEntries(workspace))
      .filter(([, entry]) => entry.kind === kind)
      .map(([id]) => id);
    const listed: Listed<T>[] = [];
    for (const id of ids) {
      const handle = await this.#find<T>(id, `${kind} ${id}`).catch(() => undefined);
      if (handle) listed.push({ id: id as DocId, doc: handle.doc() });
    }
    return listed;
  }

  async #open<T>(id: string, kind: WorkspaceEntry["kind"]): Promise<OmsDocumentHandle<T>> {
    return wrapHandle(await this.#findKind<T>(id, kind), this.#ctx);
  }

  /** Finds a document that must be of `kind`: another kind is NOT_FOUND, as a missing one is. */
  async #findKind<T>(id: string, kind: WorkspaceEntry["kind"]): Promise<DocHandle<T>> {
    const handle = await this.#find<T>(id, `${kind} ${id}`);
    const actual = (handle.doc() as { kind?: unknown }).kind;
    if (actual !== kind) {
      const collection = kind === "assistance" ? "assistance" : `${kind}s`;
      throw new OmsError(
        "NOT_FOUND",
        `there is no ${kind} ${id}: that id is a ${String(actual)}; pass the id of one of client.${collection}.rows()`,
      );
    }
    return handle;
  }

  /** Creates a document the user owns and puts it in My. */
  async #create<T>(initial: T, kind: WorkspaceEntry["kind"]): Promise<OmsDocumentHandle<T>> {
    const decision = validateWrite({
      principal: this.#principal,
      before: undefined,
      after: initial,
      policy: this.#policy,
    });
    if (!decision.ok) throw new WriteRefusedError(decision.reasons);
    const workspace = await this.#workspace();
    const handle = this.#repo.create<T>(initial);
    this.#addedToMy.add(handle.documentId);
    workspace.change((w) => addToMy(w, handle.documentId as unknown as DocId, kind));
    this.#persist(workspace as DocHandle<unknown>);
    await this.#scoped?.admit(handle.documentId);
    this.#persist(handle as DocHandle<unknown>);
    this.#engine.watch(handle as DocHandle<unknown>);
    if (this.#offline) this.#synced.markDirty(handle.documentId);
    this.#trackChanges(handle as DocHandle<unknown>);
    this.#rowOnChange(handle as DocHandle<unknown>);
    this.#rows.touched(handle.documentId);
    return wrapHandle(handle, this.#ctx);
  }

  get #searchContext() {
    return {
      httpUrl: this.#httpUrl,
      ...(this.#fetch ? { fetch: this.#fetch } : {}),
      userId: () => this.#principal.userId,
      connected: () => this.#engine.connected,
      tokens: this.#tokens,
    };
  }

  #owned(): { owner: UserId; organization: OrganizationId } {
    return { owner: this.#principal.userId, organization: this.#principal.organization };
  }

  readonly quotes: DocumentCollection<Quote, NewDocumentInput> = {
    list: () => this.#list<Quote>("quote"),
    ...this.#rowsOf("quote"),
    open: (id) => this.#open<Quote>(id, "quote"),
    search: (options) => searchCatalogue(this.#searchContext, "quote", options),
    create: async (input) => {
      this.#gate.assertEnabled("createQuote");
      return this.#create(
        createQuote({ ...input, ...this.#owned(), now: input.now ?? this.#now() }),
        "quote",
      );
    },
  };

  readonly orders: OrderCollection = {
    list: () => this.#list<Order>("order"),
    ...this.#rowsOf("order"),
    open: (id) => this.#open<Order>(id, "order"),
    search: (options) => searchCatalogue(this.#searchContext, "order", options),
    create: async (input) => {
      this.#gate.assertEnabled("createOrder");
      return this.#create(
        createOrder({ ...input, ...this.#owned(), now: input.now ?? this.#now() }),
        "order",
      );
    },
    createFromQuote: async (quoteId) => {
      this.#gate.assertEnabled("createOrder");
      const quote = await this.#open<Quote>(quoteId, "quote");
      const order = convertQuoteToOrder(quote.doc(), {
        quoteId: idOf(quoteId) as DocId,
        owner: this.#principal.userId,
        now: this.#now(),
      });
      return this.#create(order, "order");
    },
    submit: (id) => this.#oncePerOrder(idOf(id), () => this.#submit(id)),
    state: async (id) => {
      const order = await this.#findKind<Order>(id, "order");
      return submissionState(idOf(id) as DocId, order.doc(), await this.ledger.get());
    },
    transmitted: async (id) => {
      const { order, accepted } = await this.#accepted(id);
      return accepted ? transmittedView(order, accepted.heads) : undefined;
    },
    changesSinceSubmission: async (id) => {
      const { order, accepted } = await this.#accepted(id);
      return accepted ? changesSinceSubmission(order, accepted.heads) : [];
    },
  };

  readonly #submitting = new Map<string, Promise<unknown>>();

  /** Submits of one order run one after the other: the second sees the first's request. */
  #oncePerOrder<T>(orderId: string, run: () => Promise<T>): Promise<T> {
    const next = (this.#submitting.get(orderId) ?? Promise.resolve())
      .catch(() => undefined)
      .then(run);
    this.#submitting.set(orderId, next);
    void next
      .finally(() => {
        if (this.#submitting.get(orderId) === next) this.#submitting.delete(orderId);
      })
      .catch(() => undefined);
    return next;
  }

  /** Writes a submission request, unless one already submits the order as it is. */
  async #submit(id: string): Promise<string> {
    this.#gate.assertEnabled("submitOrder");
    const handle = await this.#findKind<Order>(id, "order");
    const problems = checkOrderComplete(handle.doc());
    if (problems.length > 0) throw new ValidationError("INVALID_INPUT", problems);
    const standing = standingRequest(handle.doc(), await this.ledger.get().catch(() => undefined));
    if (standing) return standing;
    const heads = getHeads(handle.doc());
    return wrapHandle(handle, this.#ctx).change((o) =>
      addSubmissionRequest(o, {
        requestedBy: this.#principal.userId,
        heads,
        lastSyncAt: this.#gate.state.lastSyncAt,
        lastSyncReceipt: this.#gate.lastSyncReceipt,
        now: this.#now(),
      }),
    );
  }

  async #accepted(id: string): Promise<{ order: Order; accepted: AcceptedOutcome | null }> {
    const order = (await this.#findKind<Order>(id, "order")).doc();
    const state = submissionState(idOf(id) as DocId, order, await this.ledger.get());
    return { order, accepted: standingAcceptance(state) };
  }

  readonly assistance: DocumentCollection<AssistanceRequest, NewAssistanceInput> = {
    list: () => this.#list<AssistanceRequest>("assistance"),
    ...this.#rowsOf("assistance"),
    open: (id) => this.#open<AssistanceRequest>(id, "assistance"),
    search: (options) => searchCatalogue(this.#searchContext, "assistance", options),
    create: async (input) =>
      this.#create(
        createAssistanceRequest({ ...input, ...this.#owned(), now: input.now ?? this.#now() }),
        "assistance",
      ),
  };

  readonly ledger = {
    get: async () =>
      (await this.#find<Ledger>(this.#session.documents.ledger, "your ledger")).doc(),
    subscribe: async (listener: (ledger: Ledger) => void) => {
      const handle = await this.#find<Ledger>(this.#session.documents.ledger, "your ledger");
      const on = () => listener(handle.doc());
      handle.on("change", on);
      return () => handle.off("change", on);
    },
  };

  readonly inbox = {
    messages: async () => {
      const inbox = (await this.#find<Inbox>(this.#session.documents.inbox, "your inbox")).doc();
      const read = (await this.#workspace()).doc().read;
      return Object.entries(inbox.messages)
        .map(([id, m]) => ({
          ...m,
          id: id as MessageId,
          read: read[id as MessageId] !== undefined,
        }))
        .sort((a, b) => b.at - a.at);
    },
    markRead: async (id: MessageId | string) => {
      const workspace = await this.#workspace();
      workspace.change((w) => markRead(w, id as MessageId, this.#now()));
      this.#persist(workspace as DocHandle<unknown>);
    },
    subscribe: async (
      listener: (messages: (InboxMessage & { id: MessageId; read: boolean })[]) => void,
    ) => {
      const inbox = await this.#find<Inbox>(this.#session.documents.inbox, "your inbox");
      const workspace = await this.#workspace();
      const on = () => void this.inbox.messages().then(listener, () => undefined);
      inbox.on("change", on);
      workspace.on("change", on);
      return () => {
        inbox.off("change", on);
        workspace.off("change", on);
      };
    },
  };

  readonly organization = {
    get: async () =>
      (
        await this.#find<Organization>(this.#session.documents.organization, "your organization")
      ).doc(),
  };

  get sync(): OmsClient["sync"] {
    const engine = this.#engine;
    return {
      get status() {
        return engine.status;
      },
      subscribe: (listener) => engine.subscribe(listener),
      now: () => engine.now(),
    };
  }

  get quarantine(): OmsClient["quarantine"] {
    const q = this.#quarantine;
    return {
      list: () => q.list(),
      export: async (documentId) => {
        const exported: QuarantineExport | undefined = await q.export(idOf(documentId));
        if (!exported)
          throw new OmsError(
            "NOT_FOUND",
            `${documentId} is not in the quarantine; see client.quarantine.list()`,
          );
        return JSON.stringify(exported, null, 2);
      },
      discard: async (documentId) => {
        const removed = await q.discard(idOf(documentId));
        this.#engine.setQuarantined(await q.size());
        return removed;
      },
      subscribe: (listener) => q.subscribe(listener),
    };
  }

  get gate(): OmsClient["gate"] {
    const gate = this.#gate;
    return {
      get state() {
        return gate.state;
      },
      isEnabled: (fn) => gate.isEnabled(fn),
      subscribe: (listener) => gate.subscribe(listener),
    };
  }

  #now(): number {
    return this.#clock.now();
  }

  async close(): Promise<void> {
    this.#unwatchPageExit();
    this.#persistNow();
    await Promise.all([...this.#writes]);
    await this.#engine.stop();
    await flushReady(this.#repo);
    await this.#rows.close();
    if (this.#myKnownTimer) await this.#saveMyKnown();
    await this.#gate.close();
    await this.#scoped?.close();
  }
}

function idOf(urlOrId: string): string {
  return urlOrId.startsWith("automerge:")
    ? (urlOrId.slice("automerge:".length).split("#")[0] as string)
    : urlOrId;
}

function samePerson(a: Principal, b: Principal): boolean {
  return a.userId === b.userId && a.organization === b.organization;
}

function principalOf(session: SessionResponse): Principal {
  return {
    userId: session.user.userId as UserId,
    organization: session.user.organization as OrganizationId,
    roles: session.user.roles,
    offline: session.user.offline,
  };
}
