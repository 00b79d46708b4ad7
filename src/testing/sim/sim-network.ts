import { NetworkAdapter, type PeerId, type PeerMetadata } from "@automerge/automerge-repo/slim";

type Message = Parameters<NetworkAdapter["send"]>[0];

/** One end of a link: what the Repo on that side sees as its network. */
export class SimEndpoint extends NetworkAdapter {
  #ready = false;
  #resolveConnected!: () => void;
  /** Resolves once the Repo has connected this adapter (it does so a tick after construction). */
  readonly connected = new Promise<void>((resolve) => {
    this.#resolveConnected = resolve;
  });
  /** Set by the link: hands an outgoing message to the link's queue. */
  onSend: (message: Message) => void = () => {};

  isReady(): boolean {
    return this.#ready;
  }

  whenReady(): Promise<void> {
    return Promise.resolve();
  }

  connect(peerId: PeerId, peerMetadata?: PeerMetadata): void {
    this.peerId = peerId;
    this.peerMetadata = peerMetadata ?? {};
    this.#ready = true;
    this.#resolveConnected();
  }

  disconnect(): void {}

  send(message: Message): void {
    this.onSend(message);
  }

  /** Delivery from the link. */
  deliver(message: Message): void {
    this.emit("message", message);
  }

  peerUp(peerId: PeerId, peerMetadata: PeerMetadata): void {
    this.emit("peer-candidate", { peerId, peerMetadata });
  }

  peerDown(peerId: PeerId): void {
    this.emit("peer-disconnected", { peerId });
  }
}

/**
 * A link between a device and the relay: two FIFO queues, like a WebSocket. The scheduler decides
 * when the head of a queue is delivered; a failed link loses what is queued and both sides see
 * the peer leave, as when a socket breaks.
 */
export class SimLink {
  readonly toRelay: Message[] = [];
  readonly toDevice: Message[] = [];
  up = false;

  constructor(
    readonly name: string,
    readonly device: SimEndpoint,
    /** The relay side of this link (a per-device view of the relay's adapter). */
    readonly relay: {
      deliverFrom(link: SimLink, message: Message): void;
      peerUp(link: SimLink): void;
      peerDown(link: SimLink): void;
      connected(): Promise<void>;
    },
  ) {
    device.onSend = (m) => {
      if (this.up) this.toRelay.push(m);
    };
  }

  pending(): number {
    return this.toRelay.length + this.toDevice.length;
  }

  /** Delivers the head of one direction; false when it is empty. */
  deliverOne(direction: "toRelay" | "toDevice", duplicate = false): boolean {
    const queue = this[direction];
    const message = queue.shift();
    if (!message || !this.up) return false;
    const times = duplicate ? 2 : 1;
    for (let i = 0; i < times; i++) {
      if (direction === "toRelay") this.relay.deliverFrom(this, message);
      else this.device.deliver(message);
    }
    return true;
  }

  async connect(): Promise<void> {
    if (this.up) return;
    await Promise.all([this.device.connected, this.relay.connected()]);
    if (this.up) return;
    this.up = true;
    this.relay.peerUp(this);
  }

  fail(): void {
    if (!this.up) return;
    this.up = false;
    this.toRelay.length = 0;
    this.toDevice.length = 0;
    this.relay.peerDown(this);
  }
}
