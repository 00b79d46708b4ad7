import {
  cbor,
  NetworkAdapter,
  type PeerId,
  type PeerMetadata,
  Repo,
} from "@automerge/automerge-repo";
import { pino } from "pino";
import { flushReady } from "../../adapters/flush-ready.js";
import { MemoryStorageAdapter } from "../../adapters/storage-memory.js";
import type { DocumentMeta } from "../../docs/kinds.js";
import type { AccessPolicy } from "../../policy/access.js";
import { defaultAccessPolicy } from "../../policy/access.js";
import type { Principal } from "../../policy/principal.js";
import { defaultGateConfig } from "../../policy/staleness-gate.js";
import { verifyRelayTime } from "../../relay/auth.js";
import { defaultOrderNumber, defaultTicketNumber } from "../../relay/config.js";
import type { RelayDatabase } from "../../relay/database.js";
import { parseInboundMessage } from "../../relay/inbound-message.js";
import { allowOutbound, judgeInbound } from "../../relay/message-policy.js";
import type { RefusalNotice } from "../../relay/protocol.js";
import { DocumentRegistry } from "../../relay/registry.js";
import { SessionService } from "../../relay/session.js";
import { SqliteStore } from "../../relay/store/sqlite/sqlite-store.js";
import { SubmissionProcessor } from "../../relay/submission-processor.js";
import { WriteGate } from "../../relay/write-gate.js";
import type { SimLink } from "./sim-network.js";

/** Signs the simulated relay's sessions and relay-time receipts. */
export const SIM_RELAY_SECRET = new TextEncoder().encode("sim-relay-secret-sim-relay-secret");

type Message = Parameters<NetworkAdapter["send"]>[0];

/** The relay's side of every link, judging each message with the relay's real rules. */
class SimRelayAdapter extends NetworkAdapter {
  readonly #links = new Map<string, { link: SimLink; principal: Principal }>();
  readonly #queues = new Map<SimLink, Promise<void>>();
  #count = 0;
  #resolveConnected!: () => void;
  readonly connected = new Promise<void>((resolve) => {
    this.#resolveConnected = resolve;
  });

  constructor(
    private readonly relay: SimRelay,
    private readonly principals: Map<SimLink, Principal>,
  ) {
    super();
  }

  isReady(): boolean {
    return true;
  }
  whenReady(): Promise<void> {
    return Promise.resolve();
  }
  connect(peerId: PeerId, peerMetadata?: PeerMetadata): void {
    this.peerId = peerId;
    this.peerMetadata = peerMetadata ?? {};
    this.#resolveConnected();
  }
  disconnect(): void {}

  peerUp(link: SimLink): void {
    const devicePeer = link.device.peerId as PeerId;
    const principal = this.principals.get(link) as Principal;
    this.#links.set(devicePeer, { link, principal });
    this.emit("peer-candidate", {
      peerId: devicePeer,
      peerMetadata: link.device.peerMetadata ?? {},
    });
    link.device.peerUp(this.peerId as PeerId, this.peerMetadata ?? {});
  }

  peerDown(link: SimLink): void {
    const devicePeer = link.device.peerId as PeerId;
    this.#links.delete(devicePeer);
    this.emit("peer-disconnected", { peerId: devicePeer });
    link.device.peerDown(this.peerId as PeerId);
  }

  /** Messages from one link are judged one at a time, in order, like a socket's. */
  deliverFrom(link: SimLink, message: Message): void {
    const previous = this.#queues.get(link) ?? Promise.resolve();
    this.#queues.set(
      link,
      previous.then(() => this.#judge(link, message)).catch(() => undefined),
    );
  }

  /** Resolves when every message handed over so far has been judged. */
  async settled(): Promise<void> {
    await Promise.all([...this.#queues.values()]);
  }

  async #judge(link: SimLink, message: Message): Promise<void> {
    const principal = this.principals.get(link) as Principal;
    const parsed = parseInboundMessage(message);
    if (!parsed.ok || !link.up) return;
    const decision = await judgeInbound(this.relay.gate, principal, parsed.message);
    const m = parsed.message as { senderId: string; documentId?: string };
    if (decision.action === "pass") {
      this.emit("message", message);
    } else if (decision.action === "answer") {
      link.toDevice.push({
        type: "sync",
        senderId: this.peerId as PeerId,
        targetId: m.senderId as PeerId,
        documentId: m.documentId as never,
        data: decision.data,
      });
    } else if (decision.action === "unavailable") {
      link.toDevice.push({
        type: "doc-unavailable",
        senderId: this.peerId as PeerId,
        targetId: m.senderId as PeerId,
        documentId: m.documentId as never,
      });
    } else if (decision.action === "refuse") {
      this.relay.refusals.push({ user: principal.userId, notice: decision.notice });
      link.toDevice.push({
        type: "ephemeral",
        senderId: this.peerId as PeerId,
        targetId: m.senderId as PeerId,
        documentId: m.documentId as never,
        sessionId: "sim-relay" as never,
        count: ++this.#count,
        data: cbor.encode(decision.notice),
      } as Message);
    }
  }

  send(message: Message): void {
    const target = this.#links.get(message.targetId as string);
    if (!target?.link.up) return;
    if (
      !allowOutbound(
        this.relay.gate,
        target.principal,
        message as { type: string; documentId?: unknown },
      )
    )
      return;
    target.link.toDevice.push(message);
  }
}

/**
 * The relay in a simulation: a real Repo with the relay's real write gate, registry, session
 * service and submission processor, on in-memory storage and an in-memory database that both
 * survive `restart()`.
 */
export class SimRelay {
  readonly storage = new MemoryStorageAdapter();
  readonly store = SqliteStore.open(":memory:");
  readonly db: RelayDatabase = this.store.db;
  readonly registry = new DocumentRegistry(this.store.registry);
  readonly refusals: { user: string; notice: RefusalNotice }[] = [];
  readonly principals = new Map<SimLink, Principal>();
  repo!: Repo;
  adapter!: SimRelayAdapter;
  gate!: WriteGate;
  processor!: SubmissionProcessor;
  restarts = 0;

  constructor(readonly policy: AccessPolicy = defaultAccessPolicy) {
    this.#start();
  }

  #start(): void {
    const log = pino({ level: "silent" });
    this.adapter = new SimRelayAdapter(this, this.principals);
    const processorRef: { p?: SubmissionProcessor } = {};
    this.repo = new Repo({
      network: [this.adapter],
      storage: this.storage,
      peerId: `sim-relay-${this.restarts}` as PeerId,
      isEphemeral: false,
      enableRemoteHeadsGossiping: false,
      shareConfig: { announce: async () => false, access: async () => true },
    });
    this.gate = new WriteGate({
      repo: this.repo,
      registry: this.registry,
      policy: this.policy,
      settleTimeoutMs: 5_000,
      maxPendingOffers: 10_000,
      onAccepted: (documentId, meta, before, after) =>
        processorRef.p?.onAccepted(documentId, meta, before, after),
    });
    const sessions = new SessionService(this.repo, this.registry, SIM_RELAY_SECRET);
    this.processor = new SubmissionProcessor({
      store: this.store.submissions,
      repo: this.repo,
      sessions,
      log,
      gate: defaultGateConfig,
      orderNumber: defaultOrderNumber,
      ticketNumber: defaultTicketNumber,
      appearTimeoutMs: 2_000,
      verifyReceipt: (userId, organization, receipt) =>
        verifyRelayTime(SIM_RELAY_SECRET, userId, receipt, organization),
    });
    processorRef.p = this.processor;
  }

  /** A document's registry entry, read synchronously (invariants). */
  meta(documentId: string): DocumentMeta | undefined {
    return this.registry.peek(documentId) ?? this.store.metaNow(documentId);
  }

  /** Stores everything and starts a new Repo on the same storage and database. */
  async restart(links: SimLink[]): Promise<void> {
    for (const link of links) link.fail();
    await this.adapter.settled();
    this.processor.close();
    await this.processor.idle();
    await flushReady(this.repo);
    this.restarts++;
    this.#start();
    void this.processor.schedule();
  }
}
