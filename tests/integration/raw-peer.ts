import { cbor } from "@automerge/automerge-repo";
import WebSocket from "ws";

/** A hand-driven protocol peer over a real socket, for sending what no well-behaved client sends. */
export class RawPeer {
  readonly received: Record<string, unknown>[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private constructor(
    readonly ws: WebSocket,
    readonly peerId: string,
  ) {
    ws.on("message", (data) => {
      try {
        this.received.push(cbor.decode(new Uint8Array(data as Buffer)) as Record<string, unknown>);
      } catch {
        // not ours to judge
      }
    });
    this.closed = new Promise((resolve) =>
      ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  static async connect(
    url: string,
    token: string,
    peerId = `raw-${Math.random().toString(36).slice(2)}`,
  ): Promise<RawPeer> {
    const ws = new WebSocket(`${url}/?token=${encodeURIComponent(token)}`);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new RawPeer(ws, peerId);
  }

  sendBytes(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  send(message: unknown): void {
    this.sendBytes(cbor.encode(message));
  }

  async join(peerMetadata: Record<string, unknown> = {}): Promise<string> {
    this.send({
      type: "join",
      senderId: this.peerId,
      peerMetadata,
      supportedProtocolVersions: ["1"],
    });
    const peer = await this.next((m) => m.type === "peer");
    return peer.senderId as string;
  }

  async next(
    match: (m: Record<string, unknown>) => boolean,
    timeoutMs = 5_000,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error("timed out waiting for a message");
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.ws.terminate();
  }
}
