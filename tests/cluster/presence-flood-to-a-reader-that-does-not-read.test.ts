import { readFileSync } from "node:fs";
import * as A from "@automerge/automerge";
import { cbor, type DocHandle } from "@automerge/automerge-repo";
import { afterAll, describe, expect, it } from "vitest";
import { asOrganizationId, asUserId, createQuote, type Quote } from "../../src/docs/index.js";
import { waitFor } from "../integration/helpers.js";
import { RawPeer } from "../integration/raw-peer.js";
import { services, servicesAvailable } from "../integration/services.js";
import { createTestDatabase } from "../store/postgres-test-database.js";
import { device, startNodes, storedByRelay, type TestNode, token } from "./nodes.js";

const available = await servicesAvailable(
  "tests/cluster/presence-flood-to-a-reader-that-does-not-read.test.ts",
);
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const rssMb = (node: TestNode) => {
  const status = readFileSync(`/proc/${node.process.child.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
};

describe.skipIf(!available)("presence flood across nodes", () => {
  it("a user flooding presence on node a does not grow node b's memory without bound through a reader of theirs that never reads", async () => {
    const db = await createTestDatabase("oms_cluster");
    cleanups.push(() => db.drop());
    const nodes = await startNodes({
      databases: [db.url, db.url],
      busUrls: [services.natsUrl, services.natsUrl],
      recheckMs: 500,
    });
    cleanups.push(() => {
      for (const n of nodes) n.process.child.kill("SIGKILL");
    });
    const [a, b] = nodes as [TestNode, TestNode];
    const alice = await device(a, "alice");
    cleanups.push(() => alice.close());
    const quote: DocHandle<Quote> = alice.repo.create<Quote>(
      createQuote({
        owner: asUserId("alice"),
        organization: asOrganizationId("acme"),
        currency: "USD",
      }),
    );
    await waitFor(() => storedByRelay(alice.repo, quote), "the quote stored by node a");

    // Alice's second connection, on node b: it asks for the quote, then stops reading its socket.
    const aliceToken = await token("alice");
    const sink = await RawPeer.connect(b.process.url, aliceToken);
    cleanups.push(() => sink.close());
    const relayB = await sink.join();
    sink.send({
      type: "request",
      senderId: sink.peerId,
      targetId: relayB,
      documentId: quote.documentId,
      data: A.generateSyncMessage(A.init(), A.initSyncState())[1] as Uint8Array,
    });
    await sink.next((m) => m.type === "sync" && m.documentId === quote.documentId, 10_000);
    sink.ws.pause();

    // Her third connection, on node a, sends presence as fast as the node lets it.
    const flooder = await RawPeer.connect(a.process.url, aliceToken);
    cleanups.push(() => flooder.close());
    const relayA = await flooder.join();
    const data = cbor.encode({ cursor: "x".repeat(15_000) });
    await new Promise((r) => setTimeout(r, 1_000));
    const before = rssMb(b);
    let count = 0;
    const floodMs = Number(process.env.FLOOD_MS ?? 15_000);
    const until = Date.now() + floodMs;
    while (Date.now() < until) {
      // Keep the client's own buffer small: the node's reading pace sets the rate.
      if (flooder.ws.bufferedAmount < 4_000_000) {
        for (let i = 0; i < 50; i++)
          flooder.send({
            type: "ephemeral",
            senderId: flooder.peerId,
            targetId: relayA,
            documentId: quote.documentId,
            sessionId: "s",
            count: ++count,
            data,
          });
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 2_000));
    const after = rssMb(b);
    const metricsB = await (await fetch(`${b.process.httpUrl}/metrics`)).text();
    const inB =
      /oms_relay_bus_notices_total\{[^}]*type="ephemeral"[^}]*direction="in"[^}]*\} (\d+)/.exec(
        metricsB,
      )?.[1];
    console.log(
      JSON.stringify({
        sent: count,
        sentMb: (count * data.byteLength) / 1e6,
        ephemeralInOnB: inB,
        rssBeforeMb: before,
        rssAfterMb: after,
        rssA: rssMb(a),
      }),
    );
    // What a reader that does not read cannot take stays somewhere bounded, not in node b's heap.
    expect(after - before).toBeLessThan(100);
  }, 120_000);
});
