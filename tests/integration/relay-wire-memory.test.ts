import * as A from "@automerge/automerge";
import { cbor, generateAutomergeUrl, parseAutomergeUrl } from "@automerge/automerge-repo";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Relay } from "../../src/relay/index.js";
import { type AliceWithQuote, relayWithAliceQuote, waitFor } from "./helpers.js";
import { RawPeer } from "./raw-peer.js";

// Memory any authenticated user could grow on the relay by naming things (docs/security.md,
// "Wire"). Measured by counting what the relay keeps, not by RSS.

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
const freshId = () => parseAutomergeUrl(generateAutomergeUrl()).documentId;

describe("document ids a client names", () => {
  it("are not remembered unless the document is loaded, whatever the message and whether the socket joined", async () => {
    const before = relay.wireStats();
    const stranger = await RawPeer.connect(relay.url, await token("mallory"));
    const member = await RawPeer.connect(relay.url, await token("mallory"));
    await member.join();
    const count = 500;
    for (let i = 0; i < count; i++) {
      for (const peer of [stranger, member]) {
        const base = { senderId: peer.peerId, targetId: relay.peerId, documentId: freshId() };
        peer.send({ type: "doc-unavailable", ...base });
        peer.send({ ...base, documentId: freshId(), type: "request", data: emptySync() });
        peer.send({
          ...base,
          documentId: freshId(),
          type: "ephemeral",
          sessionId: "s",
          count: i + 1,
          data: cbor.encode({ x: i }),
        });
      }
    }
    // The joined socket's requests are answered one by one: when the last is, all were handled.
    await waitFor(
      () => member.received.filter((m) => m.type === "doc-unavailable").length === count,
      "every request to be answered",
      30_000,
    );
    const after = relay.wireStats();
    expect(after.loadedDocuments).toBe(before.loadedDocuments);
    expect(after.cachedDocumentIds).toBeLessThanOrEqual(after.loadedDocuments);
    stranger.close();
    member.close();
  });
});

describe("ephemeral session ids", () => {
  it("cost the relay one entry per peer however many a client invents, and every message still arrives", async () => {
    const reached: unknown[] = [];
    quote.on("ephemeral-message", ({ message }) => reached.push(message));
    // What the relay's Repo sees: automerge-repo keeps every (sender, sessionId) forever.
    const sources = new Set<string>();
    const adapter = relay.repo.networkSubsystem.adapters[0];
    const listen = (m: { type: string; senderId?: string; sessionId?: string }) => {
      if (m.type === "ephemeral") sources.add(`${m.senderId}:${m.sessionId}`);
    };
    adapter?.on("message", listen);
    const mona = await RawPeer.connect(relay.url, await token("mona", ["manager"]));
    await mona.join();
    mona.send({
      type: "request",
      senderId: mona.peerId,
      targetId: relay.peerId,
      documentId: quote.documentId,
      data: emptySync(),
    });
    await mona.next((m) => m.type === "sync" && m.documentId === quote.documentId);
    const count = 300;
    for (let i = 0; i < count; i++) {
      mona.send({
        type: "ephemeral",
        senderId: mona.peerId,
        targetId: relay.peerId,
        documentId: quote.documentId,
        sessionId: `session-${i}`,
        count: 1,
        data: cbor.encode({ cursor: i }),
      });
    }
    await waitFor(() => reached.length === count, "every presence message to reach alice");
    adapter?.off("message", listen);
    expect(sources.size).toBe(1);
    expect(reached.at(-1)).toEqual({ cursor: count - 1 });
    mona.close();
  });
});
