import * as A from "@automerge/automerge";
import {
  cbor,
  type DocHandle,
  generateAutomergeUrl,
  parseAutomergeUrl,
  type Repo,
} from "@automerge/automerge-repo";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  asOrganizationId,
  asUserId,
  createQuote,
  type Quote,
  setHeader,
} from "../../src/docs/index.js";
import { isRefusalNotice, type RefusalNotice, type Relay } from "../../src/relay/index.js";
import { relayDoc, startRelay, stockClient, tempDir, waitFor, waitStored } from "./helpers.js";
import { RawPeer } from "./raw-peer.js";

// Found by the stateful wire fuzzer: a sync message whose bloom filter automerge never produces
// passed the write gate (only its changes were trial-applied) and made automerge panic inside the
// Repo, in generateSyncMessage, after the changes were applied.

let relay: Relay;
let data: { dir: string; remove: () => void };
let alice: { repo: Repo; close: () => Promise<void> };
let token: string;
const rejections: unknown[] = [];
const record = (reason: unknown) => rejections.push(reason);

beforeAll(async () => {
  process.on("unhandledRejection", record);
  data = tempDir();
  relay = await startRelay(data.dir);
  token = await relay.mintToken({ sub: "alice", org: "acme", roles: ["rep"], offline: true });
  alice = stockClient(relay, token);
  await waitFor(() => alice.repo.peers.length > 0, "alice to connect");
});
afterAll(async () => {
  await alice.close();
  await relay.close();
  data.remove();
  process.off("unhandledRejection", record);
});

const randomDocId = () => parseAutomergeUrl(generateAutomergeUrl()).documentId;
const newQuote = () =>
  A.from(
    createQuote({
      owner: asUserId("alice"),
      organization: asOrganizationId("acme"),
      currency: "USD",
    }) as unknown as Record<string, unknown>,
  );

/** Bloom filters automerge never produces (it uses 10 bits per entry and 7 probes). */
const crafted = {
  "0 bits per entry": Uint8Array.of(1, 0, 7),
  "2^31 probes": Uint8Array.of(1, 10, 0x80, 0x80, 0x80, 0x80, 0x08, 0, 0),
};

function withBloom(doc: A.Doc<unknown>, bloom: Uint8Array, changes: Uint8Array[]): Uint8Array {
  return A.encodeSyncMessage({
    heads: A.getHeads(doc),
    need: [],
    have: [{ lastSync: [], bloom }],
    changes,
  });
}

async function refusalFor(peer: RawPeer, documentId: string): Promise<RefusalNotice> {
  const message = await peer.next((m) => {
    if (m.type !== "ephemeral" || m.documentId !== documentId) return false;
    return isRefusalNotice(cbor.decode(m.data as Uint8Array));
  });
  return cbor.decode(message.data as Uint8Array) as RefusalNotice;
}

async function rawAlice(): Promise<RawPeer> {
  const peer = await RawPeer.connect(relay.url, token);
  await peer.join();
  return peer;
}

async function aliceEdits(handle: DocHandle<Quote>, name: string): Promise<void> {
  handle.change((q) => setHeader(q, { projectName: name }));
  await waitStored(alice.repo, handle, relay.peerId);
  expect(relayDoc<Quote>(relay, handle.documentId).projectName).toBe(name);
}

describe("sync messages with parameters automerge never produces", () => {
  it.each(Object.entries(crafted))(
    "a creating message with a bloom filter of %s is refused; the owner's real sync is stored",
    async (_name, bloom) => {
      const doc = newQuote();
      const documentId = randomDocId();
      const peer = await rawAlice();
      peer.send({
        type: "sync",
        senderId: peer.peerId,
        targetId: relay.peerId,
        documentId,
        data: withBloom(doc, bloom, A.getAllChanges(doc)),
      });
      const notice = await refusalFor(peer, documentId);
      expect(notice.reasons.map((r) => r.code)).toEqual(["MALFORMED_SYNC"]);
      peer.close();

      const handle = alice.repo.import<Quote>(A.save(doc), { docId: documentId as never });
      await waitStored(alice.repo, handle, relay.peerId);
      await aliceEdits(handle, "stored after the attack");
    },
  );

  it.each(Object.entries(crafted))(
    "a message without changes, with a bloom filter of %s, on an existing document is refused; edits go on",
    async (_name, bloom) => {
      const handle = alice.repo.create<Quote>(newQuote() as unknown as Quote);
      await waitStored(alice.repo, handle, relay.peerId);
      const peer = await rawAlice();
      peer.send({
        type: "sync",
        senderId: peer.peerId,
        targetId: relay.peerId,
        documentId: handle.documentId,
        data: withBloom(handle.doc(), bloom, []),
      });
      const notice = await refusalFor(peer, handle.documentId);
      expect(notice.reasons.map((r) => r.code)).toEqual(["MALFORMED_SYNC"]);
      await aliceEdits(handle, "edited after the attack");
      // The attacker's socket stays open: the relay must still be able to sync with it.
      peer.send({
        type: "sync",
        senderId: peer.peerId,
        targetId: relay.peerId,
        documentId: handle.documentId,
        data: A.generateSyncMessage(A.init(), A.initSyncState())[1] as Uint8Array,
      });
      await peer.next((m) => m.type === "sync" && m.documentId === handle.documentId);
      await aliceEdits(handle, "edited again");
      peer.close();
    },
  );

  it("a change automerge cannot decode (a time of 2^63 - 1) is refused and not stored", async () => {
    const handle = alice.repo.create<Quote>(newQuote() as unknown as Quote);
    await waitStored(alice.repo, handle, relay.peerId);
    const mine = A.clone(handle.doc());
    // automerge stores the time as an i64; its JS API cannot represent it past 2^53.
    const changed = A.change(mine, { time: 2 ** 63 }, (q) => {
      setHeader(q as unknown as Quote, { projectName: "from the far future" });
    });
    expect(() => A.decodeChange(A.getLastLocalChange(changed) as Uint8Array)).toThrow();
    const peer = await rawAlice();
    peer.send({
      type: "sync",
      senderId: peer.peerId,
      targetId: relay.peerId,
      documentId: handle.documentId,
      data: A.encodeSyncMessage({
        heads: A.getHeads(changed),
        need: [],
        have: [],
        changes: [A.getLastLocalChange(changed) as Uint8Array],
      }),
    });
    const notice = await refusalFor(peer, handle.documentId);
    expect(notice.reasons.map((r) => r.code)).toEqual(["UNDECODABLE_CHANGE"]);
    expect(A.getHeads(relayDoc<A.Doc<Quote>>(relay, handle.documentId))).toEqual(
      A.getHeads(handle.doc()),
    );
    peer.close();
    await aliceEdits(handle, "a decodable edit");
  });

  it("a change whose op ids overlap its actor's previous change (every later save panics) is refused", async () => {
    const handle = alice.repo.create<Quote>(newQuote() as unknown as Quote);
    // Scalars only: the overlap then goes unnoticed until automerge stores the document.
    handle.change((q) => {
      q.updatedAt = 1;
    });
    await waitStored(alice.repo, handle, relay.peerId);
    const previous = A.decodeChange(A.getLastLocalChange(handle.doc()) as Uint8Array);
    const next = A.change(A.clone(handle.doc(), { actor: previous.actor }), (q) => {
      (q as unknown as Quote).updatedAt = 2;
    });
    const overlapping = A.encodeChange({
      ...A.decodeChange(A.getLastLocalChange(next) as Uint8Array),
      startOp: previous.startOp,
      hash: undefined,
    } as unknown as A.DecodedChange);
    const peer = await rawAlice();
    peer.send({
      type: "sync",
      senderId: peer.peerId,
      targetId: relay.peerId,
      documentId: handle.documentId,
      data: A.encodeSyncMessage({ heads: [], need: [], have: [], changes: [overlapping] }),
    });
    const notice = await refusalFor(peer, handle.documentId);
    expect(notice.reasons.map((r) => r.code)).toEqual(["MALFORMED_SYNC"]);
    expect(notice.reasons[0]?.message).toMatch(/self\.data\[index\]\.is_none\(\)/);
    peer.close();
    expect(relay.isolatedDocuments()).toEqual([]);
    await aliceEdits(handle, "after the overlap");
  });

  it("a change whose deps leave out its actor's previous change (no new device can load the document after it) is refused", async () => {
    const handle = alice.repo.create<Quote>(newQuote() as unknown as Quote);
    handle.change((q) => {
      q.updatedAt = 1;
    });
    await waitStored(alice.repo, handle, relay.peerId);
    const previous = A.decodeChange(A.getLastLocalChange(handle.doc()) as Uint8Array);
    const next = A.change(A.clone(handle.doc(), { actor: previous.actor }), (q) => {
      (q as unknown as Quote).updatedAt = 2;
    });
    // seq and startOp follow the actor's previous change; only deps are forged (the fuzzer's
    // forgedChange mutator sent deps: []).
    const detached = A.encodeChange({
      ...A.decodeChange(A.getLastLocalChange(next) as Uint8Array),
      deps: [],
      hash: undefined,
    } as unknown as A.DecodedChange);
    const peer = await rawAlice();
    peer.send({
      type: "sync",
      senderId: peer.peerId,
      targetId: relay.peerId,
      documentId: handle.documentId,
      data: A.encodeSyncMessage({ heads: [], need: [], have: [], changes: [detached] }),
    });
    const notice = await refusalFor(peer, handle.documentId);
    expect(notice.reasons.map((r) => r.code)).toEqual(["MALFORMED_SYNC"]);
    expect(notice.reasons[0]?.message).toMatch(/does not depend on its actor's change \d+/);
    peer.close();
    await aliceEdits(handle, "after the detached change");
    // What a new device receives on its first sync: the whole document.
    const whole = A.save(relayDoc<Quote>(relay, handle.documentId));
    expect(A.load<Quote>(whole).projectName).toBe("after the detached change");
    const device = stockClient(relay, token);
    try {
      const copy = await device.repo.find<Quote>(handle.url);
      expect(copy.doc().projectName).toBe("after the detached change");
    } finally {
      await device.close();
    }
  });

  it("frees every copy it makes to judge a message, refused or accepted", async () => {
    const copies = async () => {
      const text = await (await fetch(`${relay.httpUrl}/metrics`)).text();
      const count = (event: string) =>
        Number(
          new RegExp(`^oms_relay_trial_copies_total\\{event="${event}"\\} (\\d+)`, "m").exec(
            text,
          )?.[1] ?? Number.NaN,
        );
      return { made: count("made"), freed: count("freed") };
    };
    const handle = alice.repo.create<Quote>(newQuote() as unknown as Quote);
    await waitStored(alice.repo, handle, relay.peerId);
    const start = await copies();
    const peer = await rawAlice();
    const refused = 50;
    for (let i = 0; i < refused; i++) {
      // Another owner: refused by the policy after the changes were applied to a copy.
      const edit = A.change(A.clone(handle.doc()), (q) => {
        (q as unknown as { owner: string }).owner = `mallory-${i}`;
      });
      peer.send({
        type: "sync",
        senderId: peer.peerId,
        targetId: relay.peerId,
        documentId: handle.documentId,
        data: A.encodeSyncMessage({
          heads: A.getHeads(edit),
          need: [],
          have: [],
          changes: [A.getLastLocalChange(edit) as Uint8Array],
        }),
      });
      A.free(edit);
    }
    await waitFor(
      () => peer.received.filter((m) => m.type === "ephemeral").length >= refused,
      "every refusal",
    );
    peer.close();
    await aliceEdits(handle, "accepted after the refusals");
    const end = await copies();
    expect(end.made - start.made).toBeGreaterThanOrEqual(refused + 1);
    expect(end.freed).toBe(end.made);
  });

  it("leaves no promise without a handler", async () => {
    // The Repo's own wait for a handle times out after 60 s; the relay must not race it unguarded.
    expect(rejections).toEqual([]);
    const health = await fetch(`${relay.httpUrl}/healthz`);
    expect(await health.json()).toMatchObject({ status: "ok", isolatedDocuments: 0 });
    const metrics = await (await fetch(`${relay.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^oms_relay_refusals_total\{reason="malformed_sync"\} [1-9]/m);
  });
});
