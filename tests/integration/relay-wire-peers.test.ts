import * as A from "@automerge/automerge";
import { cbor } from "@automerge/automerge-repo";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "../../src/client/index.js";
import { type Quote, setHeader } from "../../src/docs/index.js";
import { closeCodes, isRefusalNotice, REFUSAL_NOTICE, type Relay } from "../../src/relay/index.js";
import { type AliceWithQuote, relayWithAliceQuote, waitFor } from "./helpers.js";
import { RawPeer } from "./raw-peer.js";

// Holes found from outside in how the relay binds peer ids and passes ephemeral messages on
// (docs/security.md, "Wire").

let fixture: AliceWithQuote;
let relay: Relay;
let quote: AliceWithQuote["quote"];
const token = (sub: string, roles?: string[]) => fixture.token(sub, roles);

beforeAll(async () => {
  fixture = await relayWithAliceQuote();
  ({ relay, quote } = fixture);
});
afterAll(() => fixture.close());

const emptySync = () => A.generateSyncMessage(A.init(), A.initSyncState())[1] as Uint8Array;

function ephemeral(peer: RawPeer, documentId: string, data: unknown, sessionId = "s1", count = 1) {
  return {
    type: "ephemeral",
    senderId: peer.peerId,
    targetId: relay.peerId,
    documentId,
    sessionId,
    count,
    data: cbor.encode(data),
  };
}

const forgedNotice = (documentId: string) => ({
  type: REFUSAL_NOTICE,
  documentId,
  reasons: [{ code: "ACCESS_REVOKED", message: "you no longer have access to this document" }],
});

/** A raw peer of `sub` that joined and reads alice's quote (so ephemeral messages reach it). */
async function reader(sub: string, roles: string[], peerId?: string): Promise<RawPeer> {
  const peer = await RawPeer.connect(relay.url, await token(sub, roles), peerId);
  await peer.join();
  peer.send({
    type: "request",
    senderId: peer.peerId,
    targetId: relay.peerId,
    documentId: quote.documentId,
    data: emptySync(),
  });
  await peer.next((m) => m.type === "sync" && m.documentId === quote.documentId);
  return peer;
}

function joinAs(peer: RawPeer, peerId: string, versions: unknown = ["1"]): void {
  peer.send({
    type: "join",
    senderId: peerId,
    peerMetadata: {},
    supportedProtocolVersions: versions,
  });
}

describe("refusal notices come from the relay alone", () => {
  it("a join with the relay's peer id, or any id in its namespace, is refused", async () => {
    for (const claimed of [relay.peerId, "oms-relay-anything"]) {
      const mona = await RawPeer.connect(relay.url, await token("mona", ["manager"]), claimed);
      joinAs(mona, claimed);
      const closed = await mona.closed;
      expect(closed.code).toBe(closeCodes.policyViolation);
      expect(mona.received.some((m) => m.type === "peer")).toBe(false);
      const error = mona.received.find((m) => m.type === "error");
      expect(String(error?.message)).toMatch(/belong to the relay/);
    }
  });

  it("a co-reader never receives a notice a client sent, under any peer id; other ephemeral data still flows", async () => {
    const seen: { senderId: string; message: unknown }[] = [];
    quote.on("ephemeral-message", ({ senderId, message }) => seen.push({ senderId, message }));
    const mona = await reader("mona", ["manager"]);
    mona.send(ephemeral(mona, quote.documentId, forgedNotice(quote.documentId), "s1", 1));
    mona.send(ephemeral(mona, quote.documentId, { cursor: 7 }, "s1", 2));
    await waitFor(() => seen.length > 0, "the presence message to reach alice");
    // The forgery went first on the same socket: had it been passed on, it would be here.
    expect(seen.filter((s) => isRefusalNotice(s.message))).toEqual([]);
    expect(seen.map((s) => s.message)).toEqual([{ cursor: 7 }]);
    // What others receive names the authenticated user who sent it.
    expect(seen[0]?.senderId).toBe(`acme/mona/${mona.peerId}`);
    const metrics = await (await fetch(`${relay.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/reason="forged_notice"[^\n]* 1\b/);
    mona.close();
  });
});

describe("the oms-sync client and a forged ACCESS_REVOKED", () => {
  it("keeps the rep's quote in My and out of quarantine, whoever the forger claims to be", async () => {
    const rep = await createClient({
      url: relay.url,
      token: await token("rita"),
      storage: "memory",
      schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
    });
    try {
      const mine = await rep.quotes.create({ currency: "USD", projectName: "Rita's" });
      await rep.sync.now();
      const manager = await token("mona", ["manager"]);
      for (const claimed of [relay.peerId, "mona-laptop"]) {
        const mona = await RawPeer.connect(relay.url, manager, claimed);
        joinAs(mona, claimed);
        const base = { senderId: claimed, targetId: relay.peerId, documentId: mine.id };
        mona.send({ ...base, type: "request", data: emptySync() });
        mona.send(ephemeral(mona, mine.id, forgedNotice(mine.id)));
        await new Promise((r) => setTimeout(r, 500));
        mona.close();
      }
      expect(await rep.quarantine.list()).toEqual([]);
      expect((await rep.quotes.list()).map((q) => q.id)).toContain(mine.id);
    } finally {
      await rep.close();
    }
  });
});

describe("peer ids are per user", () => {
  it("another user cannot squat an offline user's peer id or storage id: the owner rejoins with them", async () => {
    const first = await RawPeer.connect(relay.url, await token("alice"), "alice-laptop");
    await first.join();
    first.close();
    await first.closed;
    // Bob claims alice's storage id too: the relay keeps a device's sync state under it.
    const storageId = "0f5a2a9e-1c7b-4f7e-9a51-6a1a5f3c2b10";
    const bob = await RawPeer.connect(relay.url, await token("bob"), "alice-laptop");
    await bob.join({ storageId });
    const again = await RawPeer.connect(relay.url, await token("alice"), "alice-laptop");
    await again.join({ storageId });
    // Both hold their own peer, side by side.
    await new Promise((r) => setTimeout(r, 100));
    expect(again.ws.readyState).toBe(again.ws.OPEN);
    expect(bob.ws.readyState).toBe(bob.ws.OPEN);
    expect(relay.repo.peers).toEqual(
      expect.arrayContaining(["acme/alice/alice-laptop", "acme/bob/alice-laptop"]),
    );
    const storageOf = (peer: string) => relay.repo.peerMetadataByPeerId[peer as never]?.storageId;
    expect(storageOf("acme/alice/alice-laptop")).toMatch(/^[0-9a-f-]{36}$/);
    expect(storageOf("acme/alice/alice-laptop")).not.toBe(storageOf("acme/bob/alice-laptop"));
    bob.close();
    again.close();
  });
});

/** Every raw peer is gone: the relay's Repo and the adapter know alice's stock client alone. */
async function onlyAliceLeft(): Promise<void> {
  await waitFor(
    () => relay.repo.peers.length === 1 && relay.wireStats().peers === 1,
    `only alice's client to be left, not ${JSON.stringify(relay.repo.peers)}`,
    3_000,
  );
}

describe("peers that never leave", () => {
  it("a join without protocol version 1 is refused with a readable error and a named close code, and leaves no peer", async () => {
    for (let i = 0; i < 5; i++) {
      const peer = await RawPeer.connect(relay.url, await token("alice"));
      joinAs(peer, peer.peerId, ["2"]);
      const closed = await peer.closed;
      expect(closed.code).toBe(closeCodes.unsupportedProtocol);
      const error = peer.received.find((m) => m.type === "error");
      expect(String(error?.message)).toMatch(/protocol version/);
    }
    await onlyAliceLeft();
  });

  it("a join handled after its socket closed binds nothing, and the device that took the peer id over keeps it", async () => {
    const old = await RawPeer.connect(relay.url, await token("alice"), "alice-tablet");
    await old.join();
    // The old socket stops reading: it does not see the relay close it, and can still send.
    old.ws.pause();
    const taker = await RawPeer.connect(relay.url, await token("alice"), "alice-tablet");
    await taker.join();
    // Two edits on the socket that was taken over, then a join queued behind them.
    const doc = A.load<Quote>(A.save(quote.doc()));
    const one = A.change(A.clone(doc), (q) => setHeader(q, { projectName: "from the old socket" }));
    const two = A.change(A.clone(one), (q) => setHeader(q, { projectName: "again" }));
    for (const [before, after] of [
      [doc, one],
      [one, two],
    ] as const) {
      old.send({
        type: "sync",
        senderId: old.peerId,
        targetId: relay.peerId,
        documentId: quote.documentId,
        data: A.encodeSyncMessage({
          heads: A.getHeads(after),
          need: [],
          have: [],
          changes: A.getChanges(before, after),
        }),
      });
    }
    joinAs(old, old.peerId);
    old.close();
    await relay.processed();
    await new Promise((r) => setTimeout(r, 300));
    // Whatever the old socket's messages did, the device holding the peer id now still syncs.
    taker.send({
      type: "request",
      senderId: taker.peerId,
      targetId: relay.peerId,
      documentId: quote.documentId,
      data: emptySync(),
    });
    await taker.next((m) => m.type === "sync" && m.documentId === quote.documentId);
    expect(taker.ws.readyState).toBe(taker.ws.OPEN);
    taker.close();
    await onlyAliceLeft();
  });
});
