import { randomUUID } from "node:crypto";
import { cbor } from "@automerge/automerge-repo/slim";
import { WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket";
import type { Logger } from "pino";
import type { WebSocket, WebSocketServer } from "ws";
import type { Principal } from "../policy/principal.js";
import { ConnectionBudget, type ConnectionLimits } from "../relay/connection-budget.js";
import { parseInboundMessage } from "../relay/inbound-message.js";
import { allowOutbound, judgeInbound } from "../relay/message-policy.js";
import type { RelayMetrics } from "../relay/metrics.js";
import {
  closeCodes,
  REFUSAL_NOTICE,
  type RefusalNotice,
  refusalReasons,
} from "../relay/protocol.js";
import type { WriteGate } from "../relay/write-gate.js";

type OutboundMessage = Parameters<WebSocketServerAdapter["send"]>[0];

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
  limits: ConnectionLimits;
  /** A document a peer is using (a message for it came in or goes out). */
  onDocumentUsed?(documentId: string): void;
}

interface PeerBinding {
  principal: Principal;
  socket: WebSocket;
}

/**
 * automerge-repo's WebSocket server adapter behind a guard. Inbound: every message is decoded and
 * shape-checked here (the stock adapter crashes on some malformed ones), bound to the socket's
 * user, and judged by the write gate before the Repo sees it. Outbound: nothing about a document
 * leaves for a peer that may not read it, and sync messages wait until the document is stored.
 */
export class GuardedServerAdapter extends WebSocketServerAdapter {
  readonly #o: GuardedAdapterOptions;
  readonly #peers = new Map<string, PeerBinding>();
  readonly #peerOfSocket = new WeakMap<WebSocket, string>();
  readonly #inbound = new WeakMap<WebSocket, Promise<void>>();
  readonly #budgets = new WeakMap<WebSocket, ConnectionBudget>();
  readonly #outbound = new Map<string, Promise<void>>();
  readonly #sessionId = randomUUID();
  #count = 0;

  constructor(options: GuardedAdapterOptions) {
    // @types/ws resolves to two declarations (ESM and CJS) of the same class.
    super(
      options.server as unknown as ConstructorParameters<typeof WebSocketServerAdapter>[0],
      options.keepAliveMs,
    );
    this.#o = options;
  }

  /** The user bound to a peer id, while its socket is open. */
  principalOfPeer(peerId: string): Principal | undefined {
    return this.#peers.get(peerId)?.principal;
  }

  /** Forgets a closed socket's peer binding. */
  forgetSocket(socket: WebSocket): void {
    const peerId = this.#peerOfSocket.get(socket);
    if (peerId && this.#peers.get(peerId)?.socket === socket) this.#peers.delete(peerId);
    this.#o.metrics.peers.set(this.#peers.size);
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
      this.#refused(refusalReasons.invalidCbor, principal);
      return void socket.close(closeCodes.invalidPayload, "message is not valid CBOR");
    }
    const parsed = parseInboundMessage(decoded);
    if (!parsed.ok) return this.#refused(parsed.reason, principal, parsed.detail);
    const message = parsed.message;
    this.#o.metrics.messagesIn.inc({ type: message.type });
    if ("documentId" in message) this.#o.onDocumentUsed?.(message.documentId);

    if (message.type === "join") {
      if (parsed.sanitized) this.#refused(refusalReasons.badStorageId, principal);
      const bound = this.#peerOfSocket.get(socket);
      const holder = this.#peers.get(message.senderId);
      if (
        (bound && bound !== message.senderId) ||
        (holder && holder.principal.userId !== principal.userId)
      ) {
        this.#refused(refusalReasons.peerIdTaken, principal);
        this.#sendRaw(socket, {
          type: "error",
          senderId: this.peerId,
          targetId: message.senderId,
          message: "this peer id belongs to another user or socket: use a fresh peer id",
        });
        return void socket.close(closeCodes.policyViolation, "peer id taken");
      }
      this.#peers.set(message.senderId, { principal, socket });
      this.#peerOfSocket.set(socket, message.senderId);
      this.#o.metrics.peers.set(this.#peers.size);
      return super.receiveMessage(cbor.encode(message), socket);
    }

    if (this.#peerOfSocket.get(socket) !== message.senderId) {
      return this.#refused(
        refusalReasons.notJoined,
        principal,
        "messages must come from the peer id this socket joined as",
      );
    }
    if (message.type === "leave") return super.receiveMessage(cbor.encode(message), socket);
    if (message.targetId !== this.peerId)
      return this.#refused(refusalReasons.malformedMessage, principal, "wrong targetId");

    if (
      (message.type === "sync" || message.type === "request") &&
      !this.#budget(socket).admitDocument(message.documentId)
    ) {
      const limit = this.#o.limits.maxDocumentsPerConnection;
      this.#refused(refusalReasons.tooManyDocuments, principal);
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
    if (decision.action === "pass") return super.receiveMessage(cbor.encode(message), socket);
    if (decision.action !== "answer") this.#refused(decision.reason, principal);
    if (decision.action === "answer") {
      return this.#sendRaw(socket, {
        type: "sync",
        senderId: this.peerId,
        targetId: message.senderId,
        documentId: (message as { documentId: string }).documentId,
        data: decision.data,
      });
    }
    if (decision.action === "unavailable") {
      return this.#sendRaw(socket, {
        type: "doc-unavailable",
        senderId: this.peerId,
        targetId: message.senderId,
        documentId: (message as { documentId: string }).documentId,
      });
    }
    if (decision.action === "refuse") {
      this.#sendRaw(socket, {
        type: "ephemeral",
        senderId: this.peerId,
        targetId: message.senderId,
        documentId: decision.notice.documentId,
        sessionId: this.#sessionId,
        count: ++this.#count,
        data: cbor.encode(decision.notice),
      });
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
    const documentId =
      "documentId" in message ? (message.documentId as string | undefined) : undefined;
    if (documentId) this.#o.onDocumentUsed?.(documentId);
    const previous = this.#outbound.get(targetId) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        if (message.type === "sync" && documentId) await this.#o.beforeSync(documentId);
        const current = this.#peers.get(targetId);
        if (current) this.#sendRaw(current.socket, message);
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
    reasons: RefusalNotice["reasons"],
  ): void {
    const notice: RefusalNotice = { type: REFUSAL_NOTICE, documentId, reasons };
    this.#sendRaw(socket, {
      type: "ephemeral",
      senderId: this.peerId,
      targetId,
      documentId,
      sessionId: this.#sessionId,
      count: ++this.#count,
      data: cbor.encode(notice),
    });
  }

  #sendRaw(socket: WebSocket, message: Record<string, unknown>): void {
    if (socket.readyState !== socket.OPEN) return;
    const encoded = cbor.encode(message);
    this.#o.metrics.bytesOut.inc(encoded.byteLength);
    this.#o.metrics.messagesOut.inc({ type: String(message.type) });
    socket.send(encoded);
  }

  #refused(reason: string, principal: Principal, detail?: string): void {
    this.#o.metrics.refusals.inc({ reason });
    this.#o.log.warn({ reason, user: principal.userId, detail }, "message refused");
  }
}
