import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { decodeNotice, encodeNotice, type Notice } from "./notices.js";

/** Why a node re-reads from the store what it holds, instead of waiting for notices. */
export type ResyncReason = "connected" | "reconnect" | "slow_consumer" | "periodic";

/** A notice before the bus stamps it with the node and the time. */
export type NoticeBody = Notice extends infer N
  ? N extends Notice
    ? Omit<N, "node" | "at">
    : never
  : never;

/**
 * News between the nodes of one deployment. Delivery is a hint: at most once, maybe late, maybe
 * never. Whoever relies on the bus must also re-read the store on `resync` and periodically.
 */
export interface Bus {
  readonly nodeId: string;
  /** True while connected; a disconnected bus drops what is published (the re-check covers it). */
  readonly connected: boolean;
  publish(notice: NoticeBody): void;
  close(): Promise<void>;
}

export interface NatsBusOptions {
  /** `nats://host:port` (several separated by commas). */
  url: string;
  nodeId: string;
  /** Subject prefix shared by the nodes of one deployment. Default `oms`. */
  subject?: string;
  log: Logger;
  /** Every valid notice from another node. */
  onNotice: (notice: Notice) => void;
  /** The bus may have dropped notices (it reconnected, or it fell behind): re-read the store. */
  onResync: (reason: ResyncReason) => void;
  /** Age of a notice at receipt, in seconds (publisher's clock against ours). */
  onLag?: (seconds: number) => void;
  /** A message on the subject that is not a valid notice (dropped; the subscription goes on). */
  onInvalid?: () => void;
  /** Tells of connection state changes (metrics, /healthz detail). */
  onState?: (connected: boolean) => void;
  /** Wait between reconnection attempts. Default 250 ms. */
  reconnectWaitMs?: number;
  /** Client ping interval: a silent connection is declared stale after two missed. Default 2 s. */
  pingIntervalMs?: number;
}

/**
 * A {@link Bus} on core NATS (no JetStream: nothing here needs persistence or replay, since the
 * store is the truth). Connecting never blocks the relay's start: a node without its bus serves
 * its own clients and catches up when the bus comes back.
 *
 * @example
 * ```ts
 * const bus = startNatsBus({ url: "nats://127.0.0.1:4222", nodeId, log,
 *   onNotice: (n) => …, onResync: (reason) => … });
 * bus.publish({ type: "document", documentId, heads });
 * ```
 */
export function startNatsBus(options: NatsBusOptions): Bus {
  return new NatsBus(options);
}

class NatsBus implements Bus {
  readonly nodeId: string;
  readonly #o: NatsBusOptions;
  readonly #subject: string;
  #nc: NatsConnection | undefined;
  #sub: Subscription | undefined;
  #connected = false;
  #closed = false;
  readonly #started: Promise<void>;

  constructor(options: NatsBusOptions) {
    this.#o = options;
    this.nodeId = options.nodeId;
    this.#subject = `${options.subject ?? "oms"}.notice`;
    this.#started = this.#start();
  }

  get connected(): boolean {
    return this.#connected;
  }

  publish(body: NoticeBody): void {
    const nc = this.#nc;
    if (!nc || !this.#connected || this.#closed) return;
    const notice = { ...body, node: this.nodeId, at: Date.now() } as Notice;
    try {
      nc.publish(`${this.#subject}.${notice.type}`, encodeNotice(notice));
    } catch (err) {
      // A hint that cannot be sent costs latency only: the receivers' re-check finds the change.
      this.#o.log.debug({ err }, "bus notice not published");
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#started.catch(() => undefined);
    const nc = this.#nc;
    this.#nc = undefined;
    if (nc && !nc.isClosed()) await nc.close().catch(() => undefined);
  }

  #setConnected(value: boolean): void {
    if (this.#connected === value) return;
    this.#connected = value;
    this.#o.onState?.(value);
  }

  async #start(): Promise<void> {
    const { log } = this.#o;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: this.#o.url.split(","),
        name: this.nodeId,
        // Our own notices would only be ignored.
        noEcho: true,
        // Keep trying for as long as the node runs, including before the first connection.
        maxReconnectAttempts: -1,
        waitOnFirstConnect: true,
        reconnectTimeWait: this.#o.reconnectWaitMs ?? 250,
        pingInterval: this.#o.pingIntervalMs ?? 2_000,
        maxPingOut: 2,
      });
    } catch (err) {
      log.error({ err, bus: this.#o.url }, "bus: cannot connect; the node serves its own clients");
      return;
    }
    if (this.#closed) {
      await nc.close().catch(() => undefined);
      return;
    }
    this.#nc = nc;
    this.#sub = nc.subscribe(`${this.#subject}.>`, {
      callback: (err, msg) => {
        if (err) return;
        // One bad message must never stop the subscription (y-redis stopped fan-out for every
        // room on one bad stream id): drop it, count it, go on.
        const notice = decodeNotice(msg.data);
        if (!notice) return this.#o.onInvalid?.();
        if (notice.node === this.nodeId) return;
        this.#o.onLag?.(Math.max(0, Date.now() - notice.at) / 1000);
        try {
          this.#o.onNotice(notice);
        } catch (handlerErr) {
          log.warn(
            { err: handlerErr },
            "bus: a notice handler failed; the next re-check covers it",
          );
        }
      },
    });
    this.#setConnected(true);
    log.info({ bus: this.#o.url }, "bus connected");
    // Whatever happened while this node had no bus is found by reading the store.
    this.#o.onResync("connected");
    void this.#watch(nc);
  }

  async #watch(nc: NatsConnection): Promise<void> {
    const { log } = this.#o;
    for await (const status of nc.status()) {
      switch (status.type) {
        case "disconnect":
        case "staleConnection":
          if (this.#connected)
            log.warn({ status: status.type }, "bus disconnected; re-checking periodically");
          this.#setConnected(false);
          break;
        case "reconnect":
          this.#setConnected(true);
          log.info("bus reconnected; re-reading what this node holds");
          this.#o.onResync("reconnect");
          break;
        case "slowConsumer":
          log.warn(
            { pending: status.pending },
            "bus: slow consumer; re-reading what this node holds",
          );
          this.#o.onResync("slow_consumer");
          break;
        case "close":
          this.#setConnected(false);
          return;
        default:
          break;
      }
    }
  }

  /** The subscription (tests unsubscribe it to simulate a lost subscription). */
  get subscription(): Subscription | undefined {
    return this.#sub;
  }
}
