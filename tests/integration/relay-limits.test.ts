import * as A from "@automerge/automerge";
import { cbor, generateAutomergeUrl, parseAutomergeUrl } from "@automerge/automerge-repo";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { closeCodes, type RefusalNotice, type Relay } from "../../src/relay/index.js";
import { startRelay, tempDir, waitFor } from "./helpers.js";
import { RawPeer } from "./raw-peer.js";

const randomDocumentId = () => parseAutomergeUrl(generateAutomergeUrl()).documentId;

let relay: Relay;
let data: { dir: string; remove: () => void };
beforeAll(async () => {
  data = tempDir();
  relay = await startRelay(data.dir, { limits: { maxConnectionsPerUser: 2 } });
});
afterAll(async () => {
  await relay.close();
  data.remove();
});

function connect(token: string): Promise<{ ws: WebSocket; status: number; body: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${relay.url}/?token=${token}`);
    ws.on("open", () => resolve({ ws, status: 101, body: "" }));
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d) => {
        body += String(d);
      });
      res.on("end", () => resolve({ ws, status: res.statusCode ?? 0, body }));
    });
    ws.on("error", () => {});
  });
}

describe("connection limits", () => {
  it("caps one user's connections with 429 and the reason; others are unaffected", async () => {
    const alice = await relay.mintToken({ sub: "alice", org: "acme", roles: ["rep"] });
    const bob = await relay.mintToken({ sub: "bob", org: "acme", roles: ["rep"] });
    const first = await connect(alice);
    const second = await connect(alice);
    expect([first.status, second.status]).toEqual([101, 101]);
    const third = await connect(alice);
    expect(third.status).toBe(429);
    expect(JSON.parse(third.body).error).toMatchObject({ code: "TOO_MANY_CONNECTIONS" });
    expect(JSON.parse(third.body).error.message).toMatch(
      /already holds 2 connections \(maxConnectionsPerUser\)/,
    );
    expect((await connect(bob)).status).toBe(101);

    first.ws.close();
    await waitFor(async () => {
      const again = await connect(alice);
      again.ws.close();
      return again.status === 101;
    }, "a freed slot");
    const metrics = await (await fetch(`${relay.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/oms_relay_refusals_total\{reason="too_many_connections"\} [1-9]/);
  });
});

describe("per-connection message limits", () => {
  let tight: Relay;
  let tightData: { dir: string; remove: () => void };
  beforeAll(async () => {
    tightData = tempDir();
    tight = await startRelay(tightData.dir, {
      limits: {
        maxMessagesPerSecond: 50,
        messageBurst: 10,
        maxQueuedMessages: 100,
        maxDocumentsPerConnection: 5,
      },
    });
  });
  afterAll(async () => {
    await tight.close();
    tightData.remove();
  });

  const emptyRequest = (peer: RawPeer, relayPeer: string, documentId: string) => ({
    type: "request",
    senderId: peer.peerId,
    targetId: relayPeer,
    documentId,
    data: A.generateSyncMessage(A.init(), A.initSyncState())[1],
  });

  async function joined(): Promise<{ peer: RawPeer; relayPeer: string }> {
    const token = await tight.mintToken({ sub: "fuzzy", org: "acme", roles: ["rep"] });
    const peer = await RawPeer.connect(tight.url, token);
    return { peer, relayPeer: await peer.join() };
  }

  it("slows a peer that sends too fast, and answers every message", async () => {
    const { peer, relayPeer } = await joined();
    const id = randomDocumentId();
    for (let i = 0; i < 60; i++) peer.send(emptyRequest(peer, relayPeer, id));
    await waitFor(
      () => peer.received.filter((m) => m.type === "doc-unavailable").length === 60,
      "60 answers",
    );
    expect(peer.ws.readyState).toBe(WebSocket.OPEN);
    const metrics = await (await fetch(`${tight.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/oms_relay_throttled_total [1-9]/);
    peer.close();
  });

  it("closes a connection whose backlog passes maxQueuedMessages, saying why", async () => {
    const { peer, relayPeer } = await joined();
    const id = randomDocumentId();
    const burst = Array.from({ length: 400 }, () => cbor.encode(emptyRequest(peer, relayPeer, id)));
    for (const bytes of burst) peer.sendBytes(bytes);
    const closed = await peer.closed;
    expect(closed.code).toBe(closeCodes.rateLimited);
    expect(closed.reason).toMatch(/over 100 messages waiting; send at most 50\/s/);
    const metrics = await (await fetch(`${tight.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/oms_relay_refusals_total\{reason="rate_limited"\} [1-9]/);
  });

  it("refuses documents beyond maxDocumentsPerConnection with the limit, keeping the connection", async () => {
    const { peer, relayPeer } = await joined();
    const ids = Array.from({ length: 7 }, () => randomDocumentId());
    for (const id of ids) peer.send(emptyRequest(peer, relayPeer, id));
    await waitFor(
      () => peer.received.filter((m) => m.type === "doc-unavailable").length === 7,
      "7 answers",
    );
    const notices = peer.received
      .filter((m) => m.type === "ephemeral")
      .map((m) => ({
        id: m.documentId,
        notice: cbor.decode(m.data as Uint8Array) as RefusalNotice,
      }));
    expect(notices.map((n) => n.id)).toEqual(ids.slice(5));
    expect(notices[0]?.notice.reasons[0]).toMatchObject({
      code: "TRY_LATER",
      message: expect.stringMatching(/5 documents \(maxDocumentsPerConnection\)/),
    });
    expect(peer.ws.readyState).toBe(WebSocket.OPEN);
    const metrics = await (await fetch(`${tight.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/oms_relay_refusals_total\{reason="too_many_documents"\} [1-9]/);
    peer.close();
  });

  it("tells clients its limits in the session", async () => {
    const token = await tight.mintToken({ sub: "fuzzy", org: "acme", roles: ["rep"] });
    const session = await (
      await fetch(`${tight.httpUrl}/v1/session`, { headers: { authorization: `Bearer ${token}` } })
    ).json();
    expect(session.limits).toEqual({
      maxPayloadBytes: 16_777_216,
      maxMessagesPerSecond: 50,
      maxDocumentsPerConnection: 5,
    });
  });
});
