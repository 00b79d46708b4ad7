import * as A from "@automerge/automerge";
import { cbor, generateAutomergeUrl, parseAutomergeUrl } from "@automerge/automerge-repo";
import WebSocket from "ws";
import { forbiddenMarkers, mayRead, type Person, tokenFor } from "./cast.js";
import { bump, type World } from "./world.js";

type Message = Record<string, unknown>;

/** A document a peer holds, with its side of the sync conversation with the relay. */
export interface HeldDocument {
  doc: A.Doc<Record<string, unknown>>;
  sync: A.SyncState;
}

const FORGED = "FORGED-by:";
const forgedBytes = Buffer.from(FORGED);

/**
 * One socket to the relay. Everything it receives goes through the receive oracles of its
 * person; everything it sends is recorded per document.
 */
export class Connection {
  joinedAs = "";
  closed = false;
  /** Forbidden markers this socket itself sent (replaying another user's frame): an echo is no leak. */
  readonly #echoes = new Set<string>();
  readonly #forbidden: string[];
  readonly #waiters = new Map<string, () => void>();

  private constructor(
    readonly world: World,
    readonly person: Person,
    readonly label: string,
    readonly ws: WebSocket,
    readonly onMessage: (m: Message, conn: Connection) => void,
  ) {
    this.#forbidden = forbiddenMarkers(person);
    ws.on("message", (data) => this.#receive(new Uint8Array(data as Buffer)));
    ws.on("close", () => {
      this.closed = true;
      if (this.joinedAs && world.livePeers.get(this.joinedAs) === person.user)
        world.livePeers.delete(this.joinedAs);
      for (const wake of this.#waiters.values()) wake();
    });
    ws.on("error", () => {});
  }

  static async open(
    world: World,
    person: Person,
    label: string,
    onMessage: (m: Message, conn: Connection) => void,
    token?: string,
    tokenKind = "valid",
  ): Promise<Connection | undefined> {
    const ws = new WebSocket(
      `${world.url}/?token=${encodeURIComponent(token ?? (await tokenFor(person)))}`,
    );
    world.history.record({ conn: label, user: person.user, kind: "open", data: tokenKind });
    const opened = await new Promise<boolean>((resolve) => {
      ws.once("open", () => resolve(true));
      ws.once("error", () => resolve(false));
      ws.once("unexpected-response", (_req, res) => {
        bump(world, `upgradeRefused${res.statusCode}`);
        resolve(false);
      });
    });
    if (!opened) {
      ws.terminate();
      return undefined;
    }
    return new Connection(world, person, label, ws, onMessage);
  }

  get open(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends one frame (recorded under its document); false if the socket is gone. */
  send(bytes: Uint8Array, doc?: string): boolean {
    if (!this.open) return false;
    const raw = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const marker of this.#forbidden) if (raw.includes(marker)) this.#echoes.add(marker);
    this.ws.send(bytes);
    this.world.frames++;
    this.world.history.record({
      conn: this.label,
      user: this.person.user,
      kind: "frame",
      data: Buffer.from(bytes).toString("base64"),
      ...(doc ? { doc } : {}),
    });
    const recent = this.world.recent;
    recent.push({ user: this.person.user, bytes, ...(doc ? { doc } : {}) });
    if (recent.length > 500) recent.splice(0, 100);
    return true;
  }

  sendMessage(message: Message): boolean {
    return this.send(
      cbor.encode(message),
      typeof message.documentId === "string" ? message.documentId : undefined,
    );
  }

  /** Sends a frame in two WebSocket fragments; with `cut`, the socket dies between them. */
  sendFragments(bytes: Uint8Array, at: number, cut: boolean, doc?: string): void {
    if (!this.open) return;
    const first = bytes.subarray(0, at);
    this.ws.send(first, { fin: false });
    this.world.frames++;
    const rec = { conn: this.label, user: this.person.user, ...(doc ? { doc } : {}) };
    this.world.history.record({
      ...rec,
      kind: "fragment",
      fin: false,
      data: Buffer.from(first).toString("base64"),
    });
    if (cut) {
      this.terminate();
      return;
    }
    const rest = bytes.subarray(at);
    this.ws.send(rest, { fin: true });
    this.world.history.record({
      ...rec,
      kind: "fragment",
      fin: true,
      data: Buffer.from(rest).toString("base64"),
    });
  }

  join(senderId: string, versions: unknown = ["1"]): void {
    this.joinedAs = senderId;
    this.sendMessage({
      type: "join",
      senderId,
      peerMetadata: {},
      ...(versions === undefined ? {} : { supportedProtocolVersions: versions }),
    });
  }

  /** Joins and waits for the relay's `peer` answer; false if it refused or closed. */
  async joinAndWait(senderId: string, versions: unknown = ["1"], timeoutMs = 15_000) {
    const ok = this.waitFor("peer", timeoutMs);
    this.join(senderId, versions);
    const answered = await ok;
    if (answered && this.open) this.world.livePeers.set(senderId, this.person.user);
    return answered && this.open;
  }

  /** Resolves true when a message of this key ("peer" or "unavailable:<doc>") arrives. */
  waitFor(key: string, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(key);
        resolve(false);
      }, timeoutMs);
      this.#waiters.set(key, () => {
        clearTimeout(timer);
        this.#waiters.delete(key);
        resolve(!this.closed);
      });
    });
  }

  terminate(): void {
    if (this.closed) return;
    this.world.history.record({ conn: this.label, user: this.person.user, kind: "terminate" });
    this.ws.terminate();
  }

  async drain(limit = 512 * 1024): Promise<void> {
    while (this.open && this.ws.bufferedAmount > limit) await new Promise((r) => setTimeout(r, 5));
  }

  #receive(bytes: Uint8Array): void {
    const world = this.world;
    bump(world, "framesReceived");
    const raw = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const marker of this.#forbidden) {
      if (raw.includes(marker) && !this.#echoes.has(marker))
        world.findings.add(
          "leakedMarker",
          `${this.label} (${this.person.org}/${this.person.user}) received a frame containing ${marker}`,
        );
    }
    let m: Message;
    try {
      m = cbor.decode(bytes) as Message;
    } catch {
      return;
    }
    if (typeof m !== "object" || m === null) return;
    const documentId = typeof m.documentId === "string" ? m.documentId : undefined;
    const owner = documentId ? world.owners.get(documentId) : undefined;
    if (owner && !mayRead(this.person, owner) && m.type !== "doc-unavailable") {
      const notice = m.type === "ephemeral" && m.senderId === world.relayPeerId;
      if (!notice || raw.includes(forgedBytes))
        world.findings.add(
          "leakedDocument",
          `${this.label} (${this.person.user}) received a ${String(m.type)} from ${String(m.senderId)} about ${owner.user}'s document ${documentId}`,
          documentId,
        );
    }
    if (m.type === "ephemeral" && raw.includes(forgedBytes)) {
      const at = raw.indexOf(forgedBytes) + forgedBytes.length;
      const author = raw
        .subarray(at, at + 40)
        .toString("latin1")
        .split(/[^a-z]/)[0];
      if (m.senderId === world.relayPeerId)
        world.findings.add(
          "forgedRelayNotice",
          `${this.label} (${this.person.user}) received an ephemeral message forged by ${author} in the relay's name (${String(m.senderId)}) about ${documentId}`,
          documentId,
        );
      else {
        const holder = world.livePeers.get(String(m.senderId));
        if (holder && holder !== author)
          world.findings.add(
            "spoofedSender",
            `${this.label} received an ephemeral message written by ${author} under ${holder}'s peer id ${String(m.senderId)}`,
            documentId,
          );
      }
    }
    if (m.type === "peer") {
      if (typeof m.senderId === "string" && !world.relayPeerId) world.relayPeerId = m.senderId;
      this.#waiters.get("peer")?.();
    }
    if (m.type === "doc-unavailable" && documentId)
      this.#waiters.get(`unavailable:${documentId}`)?.();
    if (m.type === "error") bump(world, "errorsReceived");
    this.onMessage(m, this);
  }
}

let peerSerial = 0;
export const freshPeerId = (user: string) => `fz-${user}-${(peerSerial++).toString(36)}`;
export const freshDocumentId = () => parseAutomergeUrl(generateAutomergeUrl()).documentId as string;
export const emptyRequest = () =>
  A.generateSyncMessage(A.init(), A.initSyncState())[1] as Uint8Array;

/** The data of a forged ephemeral message: a refusal notice or presence, signed by its author. */
export function forgedEphemeralData(
  author: string,
  documentId: string,
  notice: boolean,
): Uint8Array {
  return cbor.encode(
    notice
      ? {
          type: "oms-sync/refusal",
          documentId,
          reasons: [{ code: "FORBIDDEN", message: `${FORGED}${author} your change was refused` }],
          heads: [],
        }
      : { type: "presence", cursor: 3, who: `${FORGED}${author}` },
  );
}

/**
 * A fuzzing peer: a user's long-lived socket holding real documents in real sync conversations
 * with the relay, on top of which the mutators send what no honest client would.
 */
export class FuzzPeer {
  conn: Connection | undefined;
  readonly held = new Map<string, HeldDocument>();
  generation = 0;
  sinceProbe = 0;
  /** Side mutations (extra sockets) still running. */
  sideTasks = 0;

  constructor(
    readonly world: World,
    readonly person: Person,
    readonly slot: number,
    /** Documents this peer holds (its user's, and for a manager their reps'). */
    readonly documents: string[],
  ) {}

  get label(): string {
    return `${this.person.user}#${this.slot}`;
  }

  get relay(): string {
    return this.world.relayPeerId;
  }

  /** Opens a fresh socket, joins with a fresh peer id, and restarts every conversation. */
  async connect(): Promise<boolean> {
    this.conn?.terminate();
    this.generation++;
    const conn = await Connection.open(
      this.world,
      this.person,
      `${this.label}/${this.generation}`,
      (m, c) => this.#onMessage(m, c),
    );
    if (!conn) return false;
    this.conn = conn;
    if (!(await conn.joinAndWait(freshPeerId(this.person.user)))) {
      conn.terminate();
      return false;
    }
    for (const id of this.documents) {
      const held = this.held.get(id);
      if (held) held.sync = A.initSyncState();
      this.syncStep(id);
    }
    return true;
  }

  /** Sends the next message of the honest conversation for a document (or a request). */
  syncStep(documentId: string): boolean {
    const conn = this.conn;
    if (!conn?.open) return false;
    const held = this.held.get(documentId);
    if (!held) {
      return conn.sendMessage({
        type: "request",
        senderId: conn.joinedAs,
        targetId: this.relay,
        documentId,
        data: emptyRequest(),
      });
    }
    const [sync, message] = A.generateSyncMessage(held.doc, held.sync);
    held.sync = sync;
    if (!message) return false;
    return conn.sendMessage({
      type: "sync",
      senderId: conn.joinedAs,
      targetId: this.relay,
      documentId,
      data: message,
    });
  }

  /** An honest edit of a held document, then its sync message. */
  edit(documentId: string, text: string): boolean {
    const held = this.held.get(documentId);
    if (!held) return this.syncStep(documentId);
    try {
      held.doc = A.change(held.doc, (d) => {
        d.notes = text;
      });
    } catch {
      this.held.delete(documentId);
      bump(this.world, "localDocumentsReset");
    }
    return this.syncStep(documentId);
  }

  /** Waits until the relay answers a request for a fresh id: every earlier frame is handled. */
  async probe(timeoutMs: number): Promise<boolean> {
    const conn = this.conn;
    if (!conn?.open) return false;
    const id = freshDocumentId();
    const answered = conn.waitFor(`unavailable:${id}`, timeoutMs);
    conn.sendMessage({
      type: "request",
      senderId: conn.joinedAs,
      targetId: this.relay,
      documentId: id,
      data: emptyRequest(),
    });
    return answered;
  }

  #onMessage(m: Message, conn: Connection): void {
    if (conn !== this.conn || m.type !== "sync" || typeof m.documentId !== "string") return;
    const documentId = m.documentId;
    if (!this.documents.includes(documentId) || !(m.data instanceof Uint8Array)) return;
    const held = this.held.get(documentId) ?? {
      doc: A.init<Record<string, unknown>>(),
      sync: A.initSyncState(),
    };
    try {
      const [doc, sync] = A.receiveSyncMessage(held.doc, held.sync, m.data);
      held.doc = doc;
      held.sync = sync;
      this.held.set(documentId, held);
    } catch (err) {
      // Our copy is unusable (an Automerge panic leaves it outdated): start over from the relay.
      bump(this.world, "localDocumentsReset");
      this.world.findings.documents.add(documentId);
      this.held.delete(documentId);
      void err;
    }
    const decoded = (() => {
      try {
        return A.decodeSyncMessage(m.data as Uint8Array).changes.length;
      } catch {
        return 0;
      }
    })();
    if (decoded > 0 && this.held.has(documentId)) {
      const text = JSON.stringify(this.held.get(documentId)?.doc);
      for (const marker of forbiddenMarkers(this.person))
        if (text.includes(marker))
          this.world.findings.add(
            "leakedMarker",
            `${conn.label}'s copy of ${documentId} holds ${marker} after a sync from the relay`,
            documentId,
          );
    }
    this.syncStep(documentId);
  }
}
