import { afterAll, expect, it } from "vitest";
import type { Quote } from "../../src/docs/index.js";
import { relayWithAliceQuote, stockClient, waitFor } from "../integration/helpers.js";
import { RawPeer } from "../integration/raw-peer.js";

// automerge-repo's DocSynchronizer CBOR-decodes the data of every ephemeral message it gets, and
// the relay isolates a document whose message throws there (isolated-documents.ts): until the
// node restarts, nobody on that node can open or sync the document. Any reader of a document
// could do that with one presence message whose data is not CBOR (or is empty). With several
// nodes the same bytes were also passed on the bus to other nodes' clients, and an empty one was
// dropped there as an invalid notice, counted on every node.
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it("a presence message whose data is not CBOR reaches nobody and leaves the document served", async () => {
  const s = await relayWithAliceQuote();
  cleanups.push(s.close);
  const metrics = async () =>
    await (await fetch(`${s.relay.url.replace("ws", "http")}/metrics`)).text();

  const raw = await RawPeer.connect(s.relay.url, await s.token("alice"));
  cleanups.push(() => raw.close());
  const relayPeer = await raw.join();
  const presence = (data: Uint8Array, count: number) =>
    raw.send({
      type: "ephemeral",
      senderId: raw.peerId,
      targetId: relayPeer,
      documentId: s.quote.documentId,
      sessionId: "s",
      count,
      data,
    });
  const heard: unknown[] = [];
  s.quote.on("ephemeral-message", (e) => heard.push(e.message));
  presence(new Uint8Array([0xff]), 1);
  presence(new Uint8Array(0), 2);
  presence(new Uint8Array([0x1c]), 3);
  // A good one after them: it arrives, so the bad ones were handled before it.
  presence(new Uint8Array([0xa1, 0x61, 0x78, 0x01]), 4); // {x: 1}
  await waitFor(() => heard.length > 0, "the good presence message", 5_000);
  expect(heard).toEqual([{ x: 1 }]);
  expect(await metrics()).toMatch(/^oms_relay_documents_isolated 0$/m);

  // The quote is still served: a new device of alice's opens it and its edit reaches the relay.
  const other = stockClient(s.relay, await s.token("alice"));
  cleanups.push(other.close);
  await waitFor(() => other.repo.peers.length > 0, "alice's second device to connect");
  const copy = await other.repo.find<Quote>(s.quote.url);
  copy.change((q) => {
    q.projectName = "still served";
  });
  await waitFor(
    () => s.quote.doc().projectName === "still served",
    "the edit to reach alice",
    5_000,
  );
}, 30_000);
