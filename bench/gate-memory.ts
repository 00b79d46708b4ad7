/**
 * The relay's memory under refused edits (docs/security.md, "Gate"): 2,000 refused edits of
 * about 100 bytes against a quote of 200 lines, sent by one peer; RSS before and after.
 *
 *   node --expose-gc --import tsx bench/gate-memory.ts [edits]
 */
import * as A from "@automerge/automerge";
import { cbor } from "@automerge/automerge-repo";
import {
  addLineItem,
  asOrganizationId,
  asUserId,
  createQuote,
  type Quote,
} from "../src/docs/index.js";
import { isRefusalNotice } from "../src/relay/index.js";
import {
  startRelay,
  stockClient,
  tempDir,
  waitFor,
  waitStored,
} from "../tests/integration/helpers.js";
import { RawPeer } from "../tests/integration/raw-peer.js";

const edits = Number(process.argv[2] ?? 2_000);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const rssMb = () => {
  gc();
  return Math.round(process.memoryUsage().rss / 1_048_576);
};

const data = tempDir();
const relay = await startRelay(data.dir);
const token = await relay.mintToken({ sub: "alice", org: "acme", roles: ["rep"], offline: true });
const alice = stockClient(relay, token);
await waitFor(() => alice.repo.peers.length > 0, "alice to connect");
const handle = alice.repo.create<Quote>(
  createQuote({
    owner: asUserId("alice"),
    organization: asOrganizationId("acme"),
    currency: "USD",
  }),
);
for (let i = 0; i < 200; i++)
  handle.change((q) =>
    addLineItem(q, {
      productCode: `P-${i}`,
      quantity: 1,
      unitPrice: 1_000,
      description: `line ${i}`,
    }),
  );
await waitStored(alice.repo, handle, relay.peerId);

const peer = await RawPeer.connect(relay.url, token);
await peer.join();
const base = A.clone(handle.doc());
const before = rssMb();
const started = Date.now();
for (let i = 0; i < edits; i++) {
  // Refused: a quote's owner cannot change. About 100 bytes of change.
  const edit = A.change(A.clone(base), (q) => {
    (q as unknown as { owner: string }).owner = `mallory-${i}-${"x".repeat(40)}`;
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
  if (i % 100 === 99)
    await waitFor(
      () =>
        peer.received.filter(
          (m) => m.type === "ephemeral" && isRefusalNotice(cbor.decode(m.data as Uint8Array)),
        ).length > i,
      "the refusals",
      60_000,
    );
}
const after = rssMb();
console.log(
  JSON.stringify({
    edits,
    rssBeforeMb: before,
    rssAfterMb: after,
    seconds: (Date.now() - started) / 1000,
  }),
);
peer.close();
await alice.close();
await relay.close();
data.remove();
process.exit(0);
