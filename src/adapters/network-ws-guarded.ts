import { randomUUID } from "node:crypto";
import { cbor } from "@automerge/automerge-repo/slim";
import { WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket";
import type { Logger } from "pino";
import type { WebSocket, WebSocketServer } from "ws";
import type { Principal } from "../policy/principal.js";
import { ConnectionBudget, type ConnectionLimits } from "../relay/connection-budget.js";
import {
  type EphemeralMessage,
  type JoinMessage,
  parseInboundMessage,
} from "../relay/inbound-message.js";
import { allowOutbound, judgeInbound } from "../relay/message-policy.js";
import type { RelayMetrics } from "../relay/metrics.js";
import { isReservedPeerId, namespacedPeerId, namespacedStorageId } from "../relay/peer-ids.js";
import {
  closeCodes,
  PROTOCOL_VERSION,
  REFUSAL_NOTICE,
  type RefusalNotice,
  refusalReasons,
} from "../relay/protocol.js";
import { RefusalLog, type RefusalLogLimits } from "../relay/refusal-log.js";
import type { WriteGate } from "../relay/write-gate.js";

type OutboundMessage = Parameters<WebSocketServerAdapter["send"]>[0];

/**
 * Unsent bytes a peer's socket may hold before ephemeral messages (presence) for it are dropped.
 * Presence is at most once and replaced by the sender's next: a peer that does not read (or reads
 * slower than others send) must not make the relay buffer it without bound.
 */
export const MAX_EPHEMERAL_BACKLOG_BYTES = 1_048_576;

export interface GuardedAdapterOptions {
  server: WebSocketServer;
  keepAliveMs: number;
  gate: WriteGate;
  metrics: RelayMetrics;
  log: Logger;
  /** The authenticated principal of a socket, set at upgrade. */
  principalOf(socket: WebSocket): Principal | undefined;
  /** Called before a sync message leaves, so that no peer sees heads the relay has not stored. */
  beforeSync(documentId: string): Promise<void>;
  limits: ConnectionLimits & RefusalLogLimits;
  /** A document a peer is using (a message for it was let through, in or out). */
  onDocumentUsed?(documentId: string): void;
  /**
   * A client's ephemeral message was let through, as the Repo gets it (the sender's namespaced
   * peer id, this adapter's session and count): a relay among several passes it on.
   */
  onEphemeral?(message: EphemeralMessage): void;
}

interface PeerBinding {
  principal: Principal;
  socket: WebSocket;
  /** The peer id the client joined with; the Repo knows it by its namespaced id. */
  claimed: string;
}

/** Sizes of what the adapter keeps, for tests and debugging. */
export interface GuardedAdapterStats {
  /** Peers bound to an open socket. */
  peers: number;
}

/**
 * automerge-repo's WebSocket server adapter behind a guard. Inbound: every message is decoded and
 * shape-checked here (the stock adapter crashes on some malformed ones), bound to the socket's
 * user, and judged by the write gate before the Repo sees it. Outbound: nothing about a document
 * leaves for a peer that may not read it, and sync messages wait until the document is stored.
 *
 * Peer ids are per user: the Repo knows a client as `org/user/claimed` (peer-ids.ts), and the
 * relay rewrites `senderId` in and `targetId` out, so a client sees only the id it claimed.
 */
export class GuardedServerAdapter extends WebSocketServerAdapter {
  readonly #o: GuardedAdapterOptions;
  /** By namespaced peer id. */
  readonly #peers = new Map<string, PeerBinding>();
  readonly #peerOfSocket = new WeakMap<WebSocket, { claimed: string; peerId: string }>();
  readonly #inbound = new WeakMap<WebSocket, Promise<void>>();
  readonly #budgets = new WeakMap<WebSocket, ConnectionBudget>();
  readonly #outbound = new Map<string, Promise<void>>();
  readonly #sessionId = randomUUID();
  #count = 0;
  readonly #refusalLog: RefusalLog;

  constructor(options: GuardedAdapterOptions) {
    // @types/ws resolves to two declarations (ESM and CJS) of the same class.
    super(
      options.server as unknown as ConstructorParameters<typeof WebSocketServerAdapter>[0],
      options.keepAliveMs,
    );
    this.#o = options;
    this.#refusalLog = new RefusalLog(options.log, options.limits);
  }

  /**
   * Ready from the start. The stock adapter becomes ready only when a first socket connects, and
   * until then the Repo's `find` of a document not in storage waits for it: on a node no client
   * has reached yet (just restarted, or one the load balancer sends nobody) the submission
   * processor hung on a new order, holding its claim for the whole lease and running no other
   * pass. A relay has nobody to wait for: what is not in its storage is unavailable to it now.
   */
  override isReady(): boolean {
    return true;
  }

  override whenReady(): Promise<void> {
    return Promise.resolve();
  }

  /** The user bound to a (namespaced) peer id, while its socket is open. */
  principalOfPeer(peerId: string): Principal | undefined {
    return this.#peers.get(peerId)?.principal;
  }

  stats(): GuardedAdapterStats {
    return { peers: this.#peers.size };
  }

  /** Forgets a closed socket's peer binding. */
  forgetSocket(socket: WebSocket): void {
    const peerId = this.#peerOfSocket.get(socket)?.peerId;
    if (peerId && this.#peers.get(peerId)?.socket === socket) this.#peers.delete(peerId);
    this.#o.metrics.peers.set(this.#peers.size);
    this.#refusalLog.closed(socket, this.#o.principalOf(socket)?.userId);
  }

  #budget(socket: WebSocket): ConnectionBudget {
    let budget = this.#budgets.get(socket);
    if (!budget) {
      budget = new ConnectionBudget(this.#o.limits);
      this.#budgets.set(socket, budget);
    }
    return budget;
  }

  override receiveMessage(messageBytes: Uint8Array, socket: WebSocket): void {
    this.#o.metrics.bytesIn.inc(messageBytes.byteLength);
    const budget = this.#budget(socket);
    const { maxMessagesPerSecond, maxQueuedMessages } = this.#o.limits;
    if (!budget.enqueue()) {
      this.#o.metrics.refusals.inc({ reason: refusalReasons.rateLimited });
      return void socket.close(
        closeCodes.rateLimited,
        `over ${maxQueuedMessages} messages waiting; send at most ${maxMessagesPerSecond}/s`,
      );
    }
    // Too fast: stop reading for a while (TCP pushes back on the peer); nothing is dropped.
    const wait = budget.take();
    if (wait > 0 && !socket.isPaused) {
      this.#o.metrics.throttled.inc();
      socket.pause();
      setTimeout(() => socket.resume(), wait);
    }
    // One message at a time per socket, in order; a failure drops that message only.
    const previous = this.#inbound.get(socket) ?? Promise.resolve();
    const next = previous
      .then(() => this.#receive(messageBytes, socket))
      .catch((err) => this.#o.log.error({ err }, "message handling failed; message dropped"))
      .finally(() => budget.dequeue());
    this.#inbound.set(socket, next);
  }

  async #receive(bytes: Uint8Array, socket: WebSocket): Promise<void> {
    const principal = this.#o.principalOf(socket);
    if (!principal) return void socket.close(closeCodes.policyViolation, "not authenticated");
    let decoded: unknown;
    try {
      decoded = cbor.decode(bytes);
    } catch {
      this.#refused(socket, refusalReasons.invalidCbor, principal);
      return void socket.close(closeCodes.invalidPayload, "message is not valid CBOR");
    }
    const parsed = parseInboundMessage(decoded);
    if (!parsed.ok) return this.#refused(socket, parsed.reason, principal, parsed.detail);
    const message = parsed.message;
    this.#o.metrics.messagesIn.inc({ type: message.type });
    if (message.type === "join") return this.#join(message, !!parsed.sanitized, principal, socket);

    const bound = this.#peerOfSocket.get(socket);
    if (bound?.claimed !== message.senderId) {
      return this.#refused(
        socket,
        refusalReasons.notJoined,
        principal,
        "messages must come from the peer id this socket joined as",
      );
    }
    const peerId = bound.peerId;
    // Another connection of the same device took this peer id over: the stock adapter drops
    // this socket's messages, so the write gate must not judge (and record) them either.
    if ((this.sockets as Record<string, unknown>)[peerId] !== socket) {
      return this.#refused(
        socket,
        refusalReasons.notJoined,
        principal,
        "another connection joined with this peer id since",
      );
    }
    if (message.type === "leave")
      return super.receiveMessage(cbor.encode({ ...message, senderId: peerId }), socket);
    if (message.targetId !== this.peerId)
      return this.#refused(socket, refusalReasons.malformedMessage, principal, "wrong targetId");

    if (
      (message.type === "sync" || message.type === "request") &&
      !this.#budget(socket).admitDocument(message.documentId)
    ) {
      const limit = this.#o.limits.maxDocumentsPerConnection;
      this.#refused(socket, refusalReasons.tooManyDocuments, principal);
      this.#sendNotice(socket, message.senderId, message.documentId, [
        {
          code: "TRY_LATER",
          message: `this connection already asked about ${limit} documents (maxDocumentsPerConnection): reconnect to sync the rest`,
        },
      ]);
      return this.#sendRaw(socket, {
        type: "doc-unavailable",
        senderId: this.peerId,
        targetId: message.senderId,
        documentId: message.documentId,
      });
    }
    const decision = await judgeInbound(this.#o.gate, principal, message);
    if (decision.action === "pass") {
      this.#o.onDocumentUsed?.(message.documentId);
      // automerge-repo remembers every (sender, sessionId) of an ephemeral message forever: the
      // relay names one session per peer and numbers the messages itself, so a client's choice
      // of session ids costs nothing (the relay's socket order already rules out replays).
      if (message.type === "ephemeral") {
        const relayed = {
          ...message,
          senderId: peerId,
          sessionId: this.#sessionId,
          count: ++this.#count,
        };
        super.receiveMessage(cbor.encode(relayed), socket);
        return this.#o.onEphemeral?.(relayed);
      }
      return super.receiveMessage(cbor.encode({ ...message, senderId: peerId }), socket);
    }
    if (decision.action !== "answer") this.#refused(socket, decision.reason, principal);
    if (decision.action === "answer") {
      return this.#sendRaw(socket, {
        type: "sync",
        senderId: this.peerId,
        targetId: message.senderId,
        documentId: message.documentId,
        data: decision.data,
      });
    }
    if (decision.action === "unavailable") {
      return this.#sendRaw(socket, {
        type: "doc-unavailable",
        senderId: this.peerId,
        targetId: message.senderId,
        documentId: message.documentId,
      });
    }
    if (decision.action === "refuse") {
      this.#sendNotice(socket, message.senderId, decision.notice.documentId, decision.notice);
      // The document is gone for this user: a peer asking for it must not wait for an answer.
      if (decision.notice.reasons.some((r) => r.code === "ACCESS_REVOKED")) {
        this.#sendRaw(socket, {
          type: "doc-unavailable",
          senderId: this.peerId,
          targetId: message.senderId,
          documentId: decision.notice.documentId,
        });
      }
    }
  }

  #join(message: JoinMessage, sanitized: boolean, principal: Principal, socket: WebSocket): void {
    // Handled after its socket closed (messages are handled one by one, some wait): binding it
    // now would tie the peer id to a dead socket that nothing ever forgets.
    if (socket.readyState !== socket.OPEN) return;
    if (sanitized) this.#refused(socket, refusalReasons.badStorageId, principal);
    const claimed = message.senderId;
    if (isReservedPeerId(claimed) || claimed === this.peerId) {
      return void this.#refuseJoin(
        socket,
        principal,
        claimed,
        refusalReasons.reservedPeerId,
        closeCodes.policyViolation,
        "peer id reserved for the relay",
        "peer ids starting with oms-relay- belong to the relay: join with a fresh peer id of your own",
      );
    }
    const versions = message.supportedProtocolVersions;
    // The stock adapter admits the peer before it checks the version and never lets it go.
    if (versions !== undefined && !versions.includes(PROTOCOL_VERSION)) {
      return void this.#refuseJoin(
        socket,
        principal,
        claimed,
        refusalReasons.unsupportedProtocol,
        closeCodes.unsupportedProtocol,
        "unsupported protocol version",
        `unsupported protocol version: the relay speaks automerge-repo protocol "${PROTOCOL_VERSION}"; upgrade the client`,
      );
    }
    const bound = this.#peerOfSocket.get(socket);
    if (bound && bound.claimed !== claimed) {
      return void this.#refuseJoin(
        socket,
        principal,
        claimed,
        refusalReasons.peerIdTaken,
        closeCodes.policyViolation,
        "second join with another peer id",
        "this socket already joined with another peer id: open a new connection for a new peer id",
      );
    }
    const peerId = namespacedPeerId(principal, claimed);
    this.#peers.set(peerId, { principal, socket, claimed });
    this.#peerOfSocket.set(socket, { claimed, peerId });
    this.#o.metrics.peers.set(this.#peers.size);
    const storageId = message.peerMetadata?.storageId;
    const peerMetadata = storageId
      ? { ...message.peerMetadata, storageId: namespacedStorageId(principal, storageId) }
      : message.peerMetadata;
    super.receiveMessage(cbor.encode({ ...message, senderId: peerId, peerMetadata }), socket);
  }

  #refuseJoin(
    socket: WebSocket,
    principal: Principal,
    claimed: string,
    reason: string,
    code: number,
    closeReason: string,
    message: string,
  ): void {
    this.#refused(socket, reason, principal, claimed.slice(0, 80));
    this.#sendRaw(socket, { type: "error", senderId: this.peerId, targetId: claimed, message });
    socket.close(code, closeReason);
  }

  override send(message: OutboundMessage): void {
    const targetId = message.targetId as string;
    const binding = this.#peers.get(targetId);
    if (!binding) return;
    if (
      !allowOutbound(
        this.#o.gate,
        binding.principal,
        message as { type: string; documentId?: unknown },
      )
    )
      return;
    if (
      message.type === "ephemeral" &&
      binding.socket.bufferedAmount > MAX_EPHEMERAL_BACKLOG_BYTES
    ) {
      this.#o.metrics.presenceDropped.inc();
      return;
    }
    const documentId =
      "documentId" in message ? (message.documentId as string | undefined) : undefined;
    if (documentId) this.#o.onDocumentUsed?.(documentId);
    const previous = this.#outbound.get(targetId) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        if (message.type === "sync" && documentId) await this.#o.beforeSync(documentId);
        const current = this.#peers.get(targetId);
        if (current) this.#sendRaw(current.socket, { ...message, targetId: current.claimed });
      })
      .catch((err) => this.#o.log.error({ err }, "sending failed"));
    this.#outbound.set(targetId, next);
    void next.then(() => {
      if (this.#outbound.get(targetId) === next) this.#outbound.delete(targetId);
    });
  }

  #sendNotice(
    socket: WebSocket,
    targetId: string,
    documentId: string,
    notice: RefusalNotice | RefusalNotice["reasons"],
  ): void {
    const body: RefusalNotice = Array.isArray(notice)
      ? { type: REFUSAL_NOTICE, documentId, reasons: notice }
      : (notice as RefusalNotice);
    this.#sendRaw(socket, {
      type: "ephemeral",
      senderId: this.peerId,
      targetId,
      documentId,
      sessionId: this.#sessionId,
      count: ++this.#count,
      data: cbor.encode(body),
    });
  }

  #sendRaw(socket: WebSocket, message: Record<string, unknown>): void {
    if (socket.readyState !== socket.OPEN) return;
    const encoded = cbor.encode(message);
    this.#o.metrics.bytesOut.inc(encoded.byteLength);
    this.#o.metrics.messagesOut.inc({ type: String(message.type) });
    socket.send(encoded);
  }

  #refused(socket: WebSocket, reason: string, principal: Principal, detail?: string): void {
    this.#o.metrics.refusals.inc({ reason });
    this.#refusalLog.refused(socket, {
      reason,
      user: principal.userId,
      ...(detail ? { detail } : {}),
    });
  }
}
