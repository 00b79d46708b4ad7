import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { join, resolve } from "node:path";
import type { Duplex } from "node:stream";
import {
  type DocumentId,
  type EphemeralMessage,
  type PeerId,
  Repo,
  type SessionId,
} from "@automerge/automerge-repo/slim";
import { type Logger, pino } from "pino";
import { type WebSocket, WebSocketServer } from "ws";
import { flushEach } from "../adapters/flush-ready.js";
import { GuardedServerAdapter } from "../adapters/network-ws-guarded.js";
import { OmsError } from "../docs/errors.js";
import { defaultAccessPolicy } from "../policy/access.js";
import type { Principal } from "../policy/principal.js";
import { defaultGateConfig } from "../policy/staleness-gate.js";
import type { MemberRef, Reassignment, Revocation } from "./admin.js";
import { AdminService, revokedMessage } from "./admin.js";
import {
  createTokenVerifier,
  mintToken,
  type TokenRequest,
  type TokenVerifier,
  verifyRelayTime,
} from "./auth.js";
import { BulkExport } from "./bulk-export.js";
import { Catalogue } from "./catalogue/catalogue.js";
import { checkCatalogueLimits } from "./catalogue/catalogue-params.js";
import { CatalogueService } from "./catalogue/catalogue-service.js";
import { StoreCatalogue } from "./catalogue/store-catalogue.js";
import { Cluster, defaultClusterConfig } from "./cluster/cluster.js";
import { createClusterMetrics } from "./cluster/cluster-metrics.js";
import { resolveNodeId } from "./cluster/node-id.js";
import { StoreHealth } from "./cluster/store-health.js";
import { PostgresWriterLock } from "./cluster/writer-lock.js";
import {
  defaultConfiguration,
  defaultOrderNumber,
  defaultTicketNumber,
  type RelayLimits,
  type RelayOptions,
} from "./config.js";
import { DocumentCache } from "./document-cache.js";
import { HeadsIndex } from "./heads-index.js";
import { handleHttp, queryToken, type RelayState, sendError } from "./http-routes.js";
import { type IsolatedDocument, IsolatedDocuments } from "./isolated-documents.js";
import { MemberDirectory, memberKey } from "./members.js";
import { createRelayMetrics } from "./metrics.js";
import { RELAY_PEER_ID_PREFIX } from "./peer-ids.js";
import { closeCodes, refusalReasons } from "./protocol.js";
import { measureWal, type RecoveryReport, recoveryReport } from "./recovery.js";
import { DocumentRegistry } from "./registry.js";
import { ReceiptLearner } from "./restore-receipts.js";
import { loadSecret } from "./secret.js";
import { SessionService } from "./session.js";
import { isPostgresUrl, openStore } from "./store/open.js";
import { SqliteStore } from "./store/sqlite/sqlite-store.js";
import { SubmissionProcessor } from "./submission-processor.js";
import { SyncDigestService } from "./sync-digest.js";
import { atExpiry, tokenExpiresAt } from "./token-expiry.js";
import { WriteGate } from "./write-gate.js";

/** Answers to a refused WebSocket upgrade: error code and HTTP reason phrase (by default). */
const upgradeRefusals = {
  401: ["AUTH_REQUIRED", "Unauthorized"],
  403: ["USER_REVOKED", "Forbidden"],
  429: ["TOO_MANY_CONNECTIONS", "Too Many Requests"],
  503: ["UNAVAILABLE", "Service Unavailable"],
} as const;

/** How long `/healthz` waits for the store to count documents before it answers without. */
const HEALTH_COUNT_TIMEOUT_MS = 2_000;

/** A running relay. */
export interface Relay {
  /** WebSocket URL for clients, without a token: append `?token=…`. */
  readonly url: string;
  /** Base URL of the HTTP endpoints (`/healthz`, `/metrics`, `/v1/session`). */
  readonly httpUrl: string;
  readonly port: number;
  readonly peerId: string;
  /** This node's name in logs, metrics and bus notices. */
  readonly nodeId: string;
  /** Where the generated secret was written, when one was generated on this start. */
  readonly generatedSecretFile: string | undefined;
  readonly repo: Repo;
  readonly log: Logger;
  /**
   * The admin API as the operator (no organization check); the same actions are served over
   * HTTP under `/v1/admin/` to tokens with the `admin` role, within their organization. A user
   * is a user id within an organization: `revoke({ organization: "acme", userId: "sam" })`
   * leaves sam of globex alone.
   */
  readonly admin: {
    /** `owner` is a user of the document's organization. */
    reassign(documentId: string, owner: string, reason?: string): Promise<Reassignment>;
    /** Throws at once on a bad member; in effect (sockets closed) when it resolves. */
    revoke(member: MemberRef, reason?: string): Promise<Revocation>;
    /** False when that user of that organization was not revoked. */
    reinstate(member: MemberRef): Promise<boolean>;
  };
  /** Sizes of what the relay keeps per peer and per document id (tests and debugging). */
  wireStats(): WireStats;
  /** Documents the relay stopped serving after failing on them, until it restarts. */
  isolatedDocuments(): IsolatedDocument[];
  /** Resolves when the submission processor has no pass running or scheduled (tests). */
  processed(): Promise<void>;
  /** Signs a token with the relay's secret (development and tests). */
  mintToken(request: TokenRequest): Promise<string>;
  /** Stops accepting, closes every socket, stores everything, closes the database. */
  close(): Promise<void>;
}

export interface WireStats {
  /** Peers bound to an open socket. */
  peers: number;
  /** Document ids the document cache remembers the last use of. */
  cachedDocumentIds: number;
  /** Documents loaded in the relay's Repo. */
  loadedDocuments: number;
}

/**
 * Starts a relay: HTTP and WebSocket on one port, an embedded SQLite database in `dataDir` (or
 * the PostgreSQL database `options.database` names: docs/scale-out.md).
 *
 * @example
 * ```ts
 * const relay = await createRelay({ port: 0, dataDir: "/var/lib/oms-relay" });
 * const token = await relay.mintToken({ sub: "alice", org: "acme", roles: ["rep"], offline: true });
 * const ws = `${relay.url}?token=${token}`;
 * ```
 */
export async function createRelay(options: RelayOptions = {}): Promise<Relay> {
  const limits: RelayLimits = { ...defaultConfiguration.limits, ...options.limits };
  // Before anything is opened: a bad limit fails the start with nothing to clean up.
  checkCatalogueLimits(limits);
  const dataDir = resolve(options.dataDir ?? defaultConfiguration.dataDir);
  const nodeId = resolveNodeId(options.nodeId);
  // Every log line names the node: several nodes share one log pipeline.
  const log = options.logger
    ? options.logger.child({ node: nodeId })
    : pino({
        level: options.logLevel ?? defaultConfiguration.logLevel,
        base: { service: "oms-relay", node: nodeId },
      });
  let state: RelayState = "starting";

  const { secret, source, file } = loadSecret({
    secret: options.secret,
    secretFile: options.secretFile,
    dataDir,
  });
  const verifyToken = createTokenVerifier({
    secret,
    ...(options.jwks ? { jwks: options.jwks } : {}),
  });
  const repoRef: { repo?: Repo } = {};
  const processorRef: { processor?: SubmissionProcessor } = {};
  const isolated = new IsolatedDocuments({ log, storeAnswers: () => storeHealth.check() });
  const metrics = createRelayMetrics({
    loadedDocuments: () => Object.keys(repoRef.repo?.handles ?? {}).length,
    processingBacklog: () => processorRef.processor?.backlog ?? 0,
    isolatedDocuments: () => isolated.size,
    nodeId,
    // One node alone keeps its series unlabelled, as before; nodes of a deployment label them.
    labelNode: options.busUrl !== undefined || options.nodeId !== undefined,
  });
  const database = options.database;
  // The write-ahead log is measured before SQLite opens (and replays) it.
  const wal = isPostgresUrl(database) ? undefined : measureWal(join(dataDir, "relay.db"));
  const store = await openStore({
    database,
    dataDir,
    onPoolError: (err) =>
      log.warn(
        { err: { message: err.message } },
        "a pooled PostgreSQL connection failed; replaced",
      ),
    onTiming: (operation, seconds) => {
      metrics.storeSeconds.observe({ engine: engineOf(database), operation }, seconds);
      if (operation.startsWith("chunks."))
        metrics.storageSeconds.observe({ operation: operation.slice(7) }, seconds);
    },
  });
  const sqlite = store instanceof SqliteStore ? store : undefined;
  const recovery = sqlite && wal ? recoveryReport(sqlite.db, wal) : noRecovery;
  if (recovery.integrity !== "ok") {
    log.error(
      { recovery },
      "the database fails its integrity check: the relay serves what it can read; stop it and restore the last backup (docs/operations.md)",
    );
  } else if (recovery.discardedFrames > 0 || recovery.discardedBytes > 0) {
    log.warn(
      { recovery },
      `found a torn write: ${recovery.discardedFrames} uncommitted frame(s) and ${recovery.discardedBytes} trailing byte(s) at the end of the write-ahead log were ignored; everything committed before is served`,
    );
  } else {
    log.info({ recovery }, "database opened: integrity ok");
  }
  const storage = store.chunks;
  const registry = new DocumentRegistry(store.registry);
  const members = new MemberDirectory(store.members);
  // Every valid token makes its holder a known member of its organization.
  const verify: TokenVerifier = async (token) => {
    const principal = await verifyToken(token);
    await members.saw(principal);
    return principal;
  };
  const policy = options.policy ?? defaultAccessPolicy;
  const adminRef: { admin?: AdminService } = {};
  const clusterMetrics = createClusterMetrics(metrics.registry);
  // Other nodes on the same store: their chunks, revocations and reassignments reach this one
  // through bus notices (hints) and periodic re-reads of the store (the truth).
  const clusterConfig = {
    ...defaultClusterConfig,
    ...options.cluster,
    ...(options.busUrl ? { busUrl: options.busUrl } : {}),
  };
  let ownersReadAt = Date.now();
  // Several nodes share this store: relay-written documents get one writer across them.
  const multiNode = options.busUrl !== undefined || isPostgresUrl(database);
  const cluster = new Cluster({
    nodeId,
    config: clusterConfig,
    log,
    metrics: clusterMetrics,
    storedKeys: (ids) => store.chunks.contentKeys(ids),
    onAccess: async (notice) => {
      const admin = adminRef.admin;
      if (!admin) return;
      if (notice?.change === "reassign" && notice.documentId) {
        // Read again at once: outbound messages are filtered on the loaded owner.
        await registry.refresh(notice.documentId);
        repoRef.repo?.shareConfigChanged();
      } else if (!notice && Date.now() - ownersReadAt >= clusterConfig.recheckMs) {
        // Owners may have changed on another node without a notice reaching this one. Read in
        // the background, a page of ids per round trip: messages are judged on the owners loaded
        // meanwhile (at most one period old) instead of each waiting on the store.
        ownersReadAt = Date.now();
        void registry
          .rereadAll((id) => repoRef.repo?.handles[id as DocumentId] !== undefined)
          .then((changed) => {
            if (changed.length > 0) repoRef.repo?.shareConfigChanged();
          })
          .catch((err) => log.warn({ err }, "owners re-read failed; trying again next period"));
      }
      const added = await admin.loadRevocations();
      for (const member of added)
        disconnectMember(
          member,
          admin.revocation(member.organization, member.userId)?.reason ?? "revoked",
        );
      if (added.length > 0) repoRef.repo?.shareConfigChanged();
    },
    onWork: () => void processorRef.processor?.schedule(),
    // Presence from another node's client reaches this node's peers of the document, as the Repo
    // passes on a local one (the adapter's outbound filter still checks each reader).
    onEphemeral: (notice) => {
      const documentId = notice.documentId as DocumentId;
      const synchronizer = repoRef.repo?.synchronizer.docSynchronizers[documentId];
      if (!synchronizer) return;
      const data = new Uint8Array(Buffer.from(notice.data, "base64"));
      for (const peer of repoRef.repo?.peers ?? []) {
        if (peer === notice.senderId || !synchronizer.hasPeer(peer)) continue;
        const message: EphemeralMessage = {
          type: "ephemeral",
          senderId: notice.senderId as PeerId,
          targetId: peer,
          documentId,
          sessionId: notice.sessionId as SessionId,
          count: notice.count,
          data,
        };
        adapter.send(message);
      }
    },
    ...(isPostgresUrl(database) ? { writerLock: new PostgresWriterLock(database) } : {}),
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxPayloadBytes });
  const principals = new WeakMap<WebSocket, Principal>();
  /** Closes every open socket of a user (a revocation here or on another node). */
  const disconnectMember = (member: MemberRef, reason: string) => {
    for (const socket of wss.clients) {
      const principal = principals.get(socket);
      if (principal?.userId === member.userId && principal.organization === member.organization)
        socket.close(closeCodes.userRevoked, `access revoked: ${reason}`.slice(0, 120));
    }
  };
  const expiries = new WeakMap<WebSocket, number>();
  const connectionsPerUser = new Map<string, number>();
  const gateRef: { gate?: WriteGate } = {};
  const adapter = new GuardedServerAdapter({
    server: wss,
    keepAliveMs: limits.keepAliveMs,
    get gate() {
      return gateRef.gate as WriteGate;
    },
    metrics,
    log,
    principalOf: (socket) => principals.get(socket),
    limits,
    onDocumentUsed: (documentId) => cacheRef.cache?.touch(documentId),
    onEphemeral: ({ documentId, senderId, sessionId, count, data }) =>
      cluster.publishEphemeral({ documentId, senderId, sessionId, count, data }),
    beforeSync: async (documentId) => {
      const handle = repoRef.repo?.handles[documentId as never];
      // A change another node stored is durable already: its sync message need not wait.
      if (handle?.isReady() && !cluster.storedElsewhere(documentId))
        await repoRef.repo?.flush([documentId as never]);
    },
  });
  const repo = new Repo({
    network: [adapter],
    storage: cluster.wrapStorage(storage),
    peerId: `${RELAY_PEER_ID_PREFIX}${randomUUID()}` as PeerId,
    isEphemeral: false,
    enableRemoteHeadsGossiping: false,
    shareConfig: {
      // The relay announces nothing; a peer gets a document only by asking, and only if allowed.
      announce: async () => false,
      access: async (peerId, documentId) => {
        const principal = adapter.principalOfPeer(peerId);
        return (
          principal !== undefined && ((await gateRef.gate?.mayRead(principal, documentId)) ?? false)
        );
      },
    },
  });
  repoRef.repo = repo;
  cluster.start(repo);
  isolated.guard(repo);
  const cacheRef: { cache?: DocumentCache } = {};
  const headsIndex = new HeadsIndex(store.heads);
  headsIndex.recordOnFlush(repo);
  // SQLite keeps its catalogue in the commits that store chunks (synchronously, as tuned);
  // PostgreSQL through the store interface, every node writing the rows of what it stores.
  const catalogueError = (documentId: string, err: unknown) =>
    log.warn({ documentId, err }, "catalogue row not derived; the document is stored");
  let catalogue: Catalogue | StoreCatalogue;
  if (sqlite) {
    const kept = new Catalogue(
      sqlite.db,
      (id) => registry.peek(id) ?? sqlite.metaNow(id),
      sqlite.storage,
      { settleMs: limits.catalogueSettleMs },
    );
    kept.keepOnFlush(repo, catalogueError);
    catalogue = kept;
  } else {
    const kept = new StoreCatalogue({
      store: store.catalogue,
      chunks: store.chunks,
      meta: (id) => registry.get(id),
      settleMs: limits.catalogueSettleMs,
    });
    await kept.recoverPending();
    kept.keepOnFlush(repo, storage, catalogueError);
    catalogue = kept;
  }
  gateRef.gate = new WriteGate({
    repo,
    registry,
    policy,
    ...(options.fieldRules ? { fieldRules: options.fieldRules } : {}),
    settleTimeoutMs: limits.settleTimeoutMs,
    maxPendingOffers: limits.maxPendingOffers,
    onAccepted: (documentId, meta, before, after) =>
      processorRef.processor?.onAccepted(documentId, meta, before, after),
    lostAccess: async (documentId, organization, userId) =>
      adminRef.admin?.lostAccess(documentId, organization, userId),
    onLostAccessRefused: (documentId, organization, userId) =>
      void adminRef.admin?.noticeRefused(documentId, organization, userId).catch((err) => {
        log.warn({ err, documentId }, "could not tell a user their changes were refused");
      }),
    isRevoked: (organization, userId) =>
      adminRef.admin?.revocation(organization, userId) !== undefined,
    isolated,
    onTrialCopy: (event) => metrics.trialCopies.inc({ event }),
  });
  const sessions = new SessionService(
    repo,
    registry,
    secret,
    {
      maxPayloadBytes: limits.maxPayloadBytes,
      maxMessagesPerSecond: limits.maxMessagesPerSecond,
      maxDocumentsPerConnection: limits.maxDocumentsPerConnection,
    },
    headsIndex,
  );
  const processor = new SubmissionProcessor({
    store: store.submissions,
    // One process owns a SQLite file: a restart is the same node and takes its claims back.
    // Elsewhere claims are under this node's name (unique per process unless given).
    node: sqlite ? "local" : nodeId,
    claimLeaseMs: limits.claimLeaseMs,
    repo,
    sessions,
    log,
    ...(multiNode ? { write: cluster.write } : {}),
    gate: defaultGateConfig,
    orderNumber: options.orderNumberFormat ?? defaultOrderNumber,
    ticketNumber: options.ticketNumberFormat ?? defaultTicketNumber,
    ...(options.faults ? { fault: options.faults } : {}),
    appearTimeoutMs: limits.requestAppearTimeoutMs,
    verifyReceipt: (userId, organization, receipt) =>
      verifyRelayTime(secret, userId, receipt, organization),
    retry: { initialMs: limits.processorRetryInitialMs, maxMs: limits.processorRetryMaxMs },
    onRowFailed: (step) => metrics.processingFailures.inc({ step }),
    sealSecret: secret,
    onNoted: () => cluster.publishWork(),
  });
  processorRef.processor = processor;
  const cache = new DocumentCache({
    repo,
    capacity: limits.maxLoadedDocuments,
    idleMs: limits.documentIdleMs,
    log,
    onEvict: (documentId) => {
      gateRef.gate?.forget(documentId);
      cluster.forget(documentId);
      metrics.documentsUnloaded.inc();
    },
  });
  cacheRef.cache = cache;
  cache.watchFinds();
  const admin = new AdminService({
    store: store.access,
    ...(multiNode ? { write: cluster.write } : {}),
    repo,
    registry,
    sessions,
    members,
    disconnectUser: (member, reason) => disconnectMember(member, reason),
    onAction: (action, detail) => {
      metrics.adminActions.inc({ action });
      log.info({ action, ...detail }, "admin action");
      // Every other node applies it within a second: at once on this notice, else by re-reading.
      const d = detail as { organization?: string; userId?: string };
      if ((action === "revoke" || action === "reinstate") && d.organization && d.userId)
        cluster.publishAccess({ change: action, organization: d.organization, userId: d.userId });
    },
    // Published at the commit, not after the workspaces are written: other nodes stop serving the
    // previous owner that much sooner.
    onOwnerChanged: (documentId, organization) =>
      cluster.publishAccess({ change: "reassign", organization, documentId }),
  });
  adminRef.admin = admin;
  await admin.loadRevocations();

  wss.on("connection", (socket: WebSocket) => {
    metrics.connections.inc();
    // ws reports oversized or broken frames as an error event: without a listener it would
    // crash the process. The socket is closed by ws itself.
    socket.on("error", (err) => {
      metrics.refusals.inc({ reason: "socket_error" });
      log.warn(
        { err: { message: err.message, code: (err as { code?: string }).code } },
        "socket error",
      );
    });
    const principal = principals.get(socket);
    const user = principal && memberKey(principal.organization, principal.userId);
    if (user) connectionsPerUser.set(user, (connectionsPerUser.get(user) ?? 0) + 1);
    const expiresAt = expiries.get(socket);
    const expiry =
      expiresAt === undefined
        ? undefined
        : atExpiry(expiresAt, () => {
            metrics.refusals.inc({ reason: refusalReasons.expiredToken });
            socket.close(closeCodes.tokenExpired, "token expired: get a fresh token and reconnect");
          });
    socket.on("close", () => {
      expiry?.cancel();
      if (user) connectionsPerUser.set(user, (connectionsPerUser.get(user) ?? 1) - 1);
      metrics.connections.dec();
      adapter.forgetSocket(socket);
    });
  });

  const closeAll = (code: number, reason: string) => {
    for (const client of wss.clients) client.close(code, reason);
  };
  const storeHealth = new StoreHealth({
    ping: () => store.ping(),
    intervalMs: options.storeCheckMs ?? 1_000,
    timeoutMs: Math.max(5_000, options.storeCheckMs ?? 1_000),
    log,
    onDown: () => {
      if (state === "ready") state = "unavailable";
      clusterMetrics.storeUp.set(0);
      // Changes this node could not store must not be acknowledged: clients go elsewhere or wait.
      closeAll(closeCodes.storeUnavailable, "the relay cannot reach its store; reconnect shortly");
    },
    onUp: () => {
      if (state === "unavailable") state = "ready";
      clusterMetrics.storeUp.set(1);
    },
  });
  clusterMetrics.storeUp.set(1);

  const httpCtx = {
    state: () => state,
    verify,
    sessions,
    metrics,
    status: async () => ({
      // A store that does not answer makes the health answer 503, never a 500, and soon: a
      // connection that went silent would hold the count until the query timeout, longer than a
      // load balancer waits for a health check.
      documents: !storeHealth.up
        ? null
        : await Promise.race([
            registry.count(),
            new Promise<never>((_, reject) => {
              setTimeout(
                () => reject(new Error("count timed out")),
                HEALTH_COUNT_TIMEOUT_MS,
              ).unref();
            }),
          ]).catch(() => {
            storeHealth.suspect();
            return null;
          }),
      connections: wss.clients.size,
      database: !storeHealth.up
        ? "unreachable"
        : recovery.integrity === "ok"
          ? "ok"
          : "failed integrity check",
      // A count only: /healthz is public, the ids are in the log and in relay.isolatedDocuments().
      isolatedDocuments: isolated.size,
    }),
    allowedOrigins: options.allowedOrigins ?? "*",
    admin,
    digest: new SyncDigestService({ repo, registry, index: headsIndex, gate: gateRef.gate }),
    bulk: new BulkExport({
      storage,
      index: headsIndex,
      gate: gateRef.gate,
      maxBytes: limits.maxBulkResponseBytes,
      rows: store.catalogue,
      onSent: () => metrics.bulkDocuments.inc(),
    }),
    catalogue: new CatalogueService({ store: store.catalogue, catalogue, policy, limits }),
    receipts: new ReceiptLearner({
      store: store.restore,
      secret,
      log,
      onEntry: (result) => metrics.restoreReceipts.inc({ result }),
      onLearned: () => void processor.schedule(),
    }),
  };
  const server: Server = createServer((req, res) => {
    handleHttp(httpCtx, req, res).catch((err) => {
      log.error({ err }, "HTTP request failed");
      if (!res.headersSent)
        sendError(res, 500, "INTERNAL", "the relay failed to answer; see its log");
      else res.end();
    });
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (
      status: 401 | 403 | 429 | 503,
      reason: string,
      message: string,
      errorCode?: string,
    ) => {
      metrics.refusals.inc({ reason });
      const [defaultCode, text] = upgradeRefusals[status];
      const code = errorCode ?? defaultCode;
      const body = JSON.stringify({ error: { code, message } });
      socket.end(
        `HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    };
    socket.on("error", () => socket.destroy());
    if (state !== "ready")
      return refuse(503, "not_ready", "the relay is starting or stopping; retry shortly");
    const token = queryToken(req.url);
    verify(token).then(
      (principal) => {
        if (state !== "ready")
          return refuse(503, "not_ready", "the relay is stopping; retry shortly");
        const revoked = admin.revocation(principal.organization, principal.userId);
        if (revoked) {
          return refuse(403, refusalReasons.userRevoked, revokedMessage(revoked));
        }
        const user = memberKey(principal.organization, principal.userId);
        if ((connectionsPerUser.get(user) ?? 0) >= limits.maxConnectionsPerUser) {
          return refuse(
            429,
            "too_many_connections",
            `${principal.userId} already holds ${limits.maxConnectionsPerUser} connections (maxConnectionsPerUser); close one and retry`,
          );
        }
        wss.handleUpgrade(req, socket, head, (ws) => {
          principals.set(ws, principal);
          const expiresAt = tokenExpiresAt(token);
          if (expiresAt !== undefined) expiries.set(ws, expiresAt);
          wss.emit("connection", ws, req);
        });
      },
      (err: unknown) => {
        const expired = err instanceof OmsError && err.code === "AUTH_EXPIRED";
        log.info({ reason: expired ? "expired" : "invalid" }, "connection refused: bad token");
        refuse(
          401,
          expired ? refusalReasons.expiredToken : refusalReasons.badToken,
          (err as Error).message,
          expired ? "AUTH_EXPIRED" : "AUTH_REQUIRED",
        );
      },
    );
  });

  const port = await new Promise<number>((resolvePort, reject) => {
    server.once("error", reject);
    server.listen(
      options.port ?? defaultConfiguration.port,
      options.host ?? defaultConfiguration.host,
      () => {
        const address = server.address();
        resolvePort(typeof address === "object" && address ? address.port : 0);
      },
    );
  });
  const host = options.host ?? defaultConfiguration.host;
  const hostForUrl = host.includes(":") ? `[${host}]` : host;
  state = "ready";
  storeHealth.start();
  log.info({ port, host, dataDir, secret: source }, "relay ready");
  // Whatever a crash left undecided or undelivered is redone now, then checked periodically.
  void processor.schedule();
  const processorTimer = setInterval(() => void processor.schedule(), limits.processorIntervalMs);
  processorTimer.unref();
  const cacheTimer = setInterval(() => void cache.sweep(), limits.cacheSweepMs);
  cacheTimer.unref();

  let closing: Promise<void> | undefined;
  return {
    url: `ws://${hostForUrl}:${port}`,
    httpUrl: `http://${hostForUrl}:${port}`,
    port,
    peerId: repo.peerId,
    nodeId,
    generatedSecretFile: source === "generated" ? file : undefined,
    repo,
    log,
    mintToken: (request) => mintToken(secret, request),
    admin: {
      reassign: (documentId, owner, reason) =>
        admin.reassign("operator", documentId, owner, reason),
      revoke: (member, reason) => admin.revoke("operator", member, reason),
      reinstate: (member) => admin.reinstate("operator", member),
    },
    wireStats: () => ({
      ...adapter.stats(),
      cachedDocumentIds: cache.size,
      loadedDocuments: Object.keys(repo.handles).length,
    }),
    isolatedDocuments: () => isolated.list(),
    processed: () => processor.idle(),
    close() {
      closing ??= (async () => {
        state = "stopping";
        log.info("relay stopping");
        clearInterval(processorTimer);
        clearInterval(cacheTimer);
        storeHealth.stop();
        await cluster.close();
        await cache.close();
        processor.close();
        await processor.idle();
        await new Promise<void>((done) => {
          server.close(() => done());
          for (const client of wss.clients)
            client.close(closeCodes.goingAway, "relay shutting down");
          server.closeAllConnections();
        });
        // Repo.shutdown() flushes every handle and throws on one that is not ready: flush the ready ones.
        adapter.disconnect();
        // One document that cannot be stored must not keep the others from it: each is stored on
        // its own, and the ones that fail are named (their changes stay on the devices that made
        // them, which send them again to the next relay run).
        const report = await flushEach(repo);
        if (report.failed.length > 0) {
          log.error(
            { failed: report.failed, stored: report.stored },
            `shutdown: ${report.failed.length} document(s) could not be stored, ${report.stored} were; the devices that made the unstored changes send them again after the restart (docs/operations.md)`,
          );
        }
        await catalogue.close();
        wss.close();
        await store.close();
        log.info({ stored: report.stored, failed: report.failed.length }, "relay stopped");
      })();
      return closing;
    },
  };
}

/** PostgreSQL recovers by itself: nothing for the relay to report. */
const noRecovery: RecoveryReport = {
  walBytes: 0,
  walFrames: 0,
  committedFrames: 0,
  discardedFrames: 0,
  discardedBytes: 0,
  staleFrames: 0,
  uncommittedFrames: 0,
  integrity: "ok",
};

function engineOf(database: string | undefined): "sqlite" | "postgres" {
  return isPostgresUrl(database) ? "postgres" : "sqlite";
}
