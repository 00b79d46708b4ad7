import {
  cbor,
  NetworkAdapter,
  type PeerId,
  type PeerMetadata,
} from "@automerge/automerge-repo/slim";
import WebSocket from "isomorphic-ws";
import { isRefusalNotice, type RefusalNotice } from "../relay/protocol.js";

/** What happened to the socket, for the client's connection logic. */
export type SocketEvent =
  | { type: "connected"; relayPeerId: PeerId }
  | { type: "closed"; code: number; reason: string }
  /** The upgrade was refused with this HTTP status (Node only: browsers do not say). */
  | { type: "refused"; status: number };

export interface ClientSocketOptions {
  /** The URL to open, read at each connection attempt (a refreshed token gives a new one). */
  url: () => string;
  onEvent?: (event: SocketEvent) => void;
  /** Counts bytes sent and received, for progress. */
  onBytes?: (direction: "sent" | "received", bytes: number) => void;
  /**
   * Open as soon as the Repo connects the adapter, like the stock adapter (default true). The
   * oms-sync client sets false and calls `open` once it has checked the token.
   */
  autoConnect?: boolean;
  /** The relay refused changes this device sent (the notice is not passed to the Repo). */
  onRefusal?: (notice: RefusalNotice) => void;
}

/**
 * A WebSocket network adapter speaking automerge-repo's client protocol, whose connection the
 * client drives: it opens when told (`open`), never reconnects by itself, reports refusals instead
 * of throwing (the stock adapter crashes a Node process on a 401), and reads its URL at each
 * attempt so a refreshed token takes effect.
 */
export class ClientSocketAdapter extends NetworkAdapter {
  readonly #o: ClientSocketOptions;
  #socket: WebSocket | undefined;
  #relayPeerId: PeerId | undefined;
  #ready = false;
  #resolveReady!: () => void;
  readonly #readyPromise = new Promise<void>((resolve) => {
    this.#resolveReady = resolve;
  });
  #wanted = false;

  constructor(options: ClientSocketOptions) {
    super();
    this.#o = options;
  }

  isReady(): boolean {
    return this.#ready;
  }

  whenReady(): Promise<void> {
    return this.#readyPromise;
  }

  #markReady(): void {
    if (!this.#ready) {
      this.#ready = true;
      this.#resolveReady();
    }
  }

  /** True while a socket is open and the relay has answered the join. */
  get connected(): boolean {
    return this.#relayPeerId !== undefined && this.#socket?.readyState === WebSocket.OPEN;
  }

  get relayPeerId(): PeerId | undefined {
    return this.#relayPeerId;
  }

  connect(peerId: PeerId, peerMetadata?: PeerMetadata): void {
    this.peerId = peerId;
    this.peerMetadata = peerMetadata ?? {};
    // The Repo waits for its adapters before it declares a document unavailable. Ready comes with
    // the relay's answer, or at once when the socket fails (a refused connection is quick); this
    // bound is for a network that swallows packets. 1 s was too short for a busy machine.
    setTimeout(() => this.#markReady(), 5_000);
    if (this.#wanted || this.#o.autoConnect !== false) this.open();
  }

  /** Opens a connection (closing any previous one). */
  open(): void {
    this.#wanted = true;
    if (!this.peerId) return;
    this.#drop();
    const socket = new WebSocket(this.#o.url());
    socket.binaryType = "arraybuffer";
    this.#socket = socket;
    socket.onopen = () => {
      if (this.#socket !== socket || !this.peerId) return;
      this.#sendRaw({
        type: "join",
        senderId: this.peerId,
        peerMetadata: this.peerMetadata ?? {},
        supportedProtocolVersions: ["1"],
      });
    };
    socket.onmessage = (event) => {
      if (this.#socket === socket) this.#receive(new Uint8Array(event.data as ArrayBuffer));
    };
    socket.onerror = (event) => {
      // Node's ws gives the HTTP status of a refused upgrade; browsers give nothing.
      const message = String((event as { message?: string }).message ?? "");
      const status = /Unexpected server response: (\d{3})/.exec(message)?.[1];
      if (status && this.#socket === socket)
        this.#o.onEvent?.({ type: "refused", status: Number(status) });
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      this.#lost();
      this.#markReady();
      this.#o.onEvent?.({ type: "closed", code: event.code, reason: String(event.reason ?? "") });
    };
  }

  /** Closes the connection; it stays closed until `open` is called again. */
  close(): void {
    this.#wanted = false;
    this.#drop();
  }

  disconnect(): void {
    this.close();
  }

  #drop(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#lost();
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = null;
      // Closing a socket still connecting makes Node's ws report an error: it must have a listener.
      socket.onerror = () => {};
      try {
        socket.close(1000);
      } catch {
        // closing a socket that never opened
      }
    }
  }

  #lost(): void {
    const peer = this.#relayPeerId;
    this.#relayPeerId = undefined;
    if (peer) this.emit("peer-disconnected", { peerId: peer });
  }

  #receive(bytes: Uint8Array): void {
    this.#o.onBytes?.("received", bytes.byteLength);
    let message: Record<string, unknown>;
    try {
      message = cbor.decode(bytes) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof message !== "object" || message === null) return;
    if (message.type === "peer") {
      this.#relayPeerId = message.senderId as PeerId;
      this.#markReady();
      this.emit("peer-candidate", {
        peerId: message.senderId as PeerId,
        peerMetadata: (message.peerMetadata ?? {}) as PeerMetadata,
      });
      this.#o.onEvent?.({ type: "connected", relayPeerId: message.senderId as PeerId });
    } else if (message.type !== "error") {
      if (message.type === "ephemeral" && message.senderId === this.#relayPeerId) {
        const notice = decodeNotice(message.data);
        if (notice && this.#o.onRefusal) {
          this.#o.onRefusal(notice);
          return;
        }
      }
      this.emit("message", message as never);
    }
  }

  send(message: Parameters<NetworkAdapter["send"]>[0]): void {
    // Nothing is queued while disconnected: the Repo syncs afresh on the next connection.
    if (this.connected) this.#sendRaw(message as unknown as Record<string, unknown>);
  }

  #sendRaw(message: Record<string, unknown>): void {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const encoded = cbor.encode(message);
    this.#o.onBytes?.("sent", encoded.byteLength);
    socket.send(encoded);
  }
}

function decodeNotice(data: unknown): RefusalNotice | undefined {
  if (!(data instanceof Uint8Array)) return undefined;
  try {
    const value = cbor.decode(data);
    return isRefusalNotice(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
