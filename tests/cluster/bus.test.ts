import { randomUUID } from "node:crypto";
import { connect } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { type Bus, type ResyncReason, startNatsBus } from "../../src/relay/cluster/bus.js";
import {
  MAX_EPHEMERAL_BYTES,
  MAX_INLINE_BYTES,
  MAX_NOTICE_BYTES,
  type Notice,
} from "../../src/relay/cluster/notices.js";
import { waitFor } from "../integration/helpers.js";
import { portOf, services, servicesAvailable } from "../integration/services.js";
import { startTcpProxy, type TcpProxy } from "../integration/tcp-proxy.js";

const available = await servicesAvailable("tests/cluster/bus.test.ts");
const log = pino({ level: process.env.OMS_TEST_LOG ?? "silent" });
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Probe {
  bus: Bus;
  notices: Notice[];
  resyncs: ResyncReason[];
  lags: number[];
  invalid: number;
}

function node(url: string, nodeId: string, subject: string): Probe {
  const probe: Probe = { notices: [], resyncs: [], lags: [], invalid: 0 } as unknown as Probe;
  probe.bus = startNatsBus({
    url,
    nodeId,
    subject,
    log,
    reconnectWaitMs: 50,
    pingIntervalMs: 500,
    onNotice: (n) => probe.notices.push(n),
    onResync: (r) => probe.resyncs.push(r),
    onLag: (s) => probe.lags.push(s),
    onInvalid: () => {
      probe.invalid++;
    },
  });
  cleanups.push(() => probe.bus.close());
  return probe;
}

describe.skipIf(!available)("the NATS bus between nodes (real NATS, through a TCP proxy)", () => {
  it("carries notices between nodes, survives bad messages, and asks for a re-read after a cut", async () => {
    const subject = `oms-test-${randomUUID().slice(0, 8)}`;
    const proxy: TcpProxy = await startTcpProxy(portOf(services.natsUrl, 4222));
    cleanups.push(() => proxy.close());
    const a = node(services.natsUrl, "node-a", subject);
    const b = node(`nats://${proxy.address}`, "node-b", subject);
    await waitFor(() => a.bus.connected && b.bus.connected, "both buses to connect");
    // Connecting is itself a reason to re-read: the node had no news before.
    expect(b.resyncs).toContain("connected");

    a.bus.publish({ type: "document", documentId: "doc1", heads: "h1" });
    const got = await waitFor(
      () => b.notices.find((n) => n.type === "document"),
      "the notice on b",
    );
    expect(got).toMatchObject({
      type: "document",
      documentId: "doc1",
      heads: "h1",
      node: "node-a",
    });
    expect(b.lags.length).toBe(1);
    // A node never hears its own notices.
    expect(a.notices).toEqual([]);

    // Garbage on the subject (a buggy or hostile publisher) is counted and dropped; the
    // subscription keeps delivering.
    const raw = await connect({ servers: services.natsUrl });
    cleanups.push(() => raw.close());
    raw.publish(`${subject}.notice.document`, new TextEncoder().encode("{not json"));
    raw.publish(
      `${subject}.notice.document`,
      new TextEncoder().encode(JSON.stringify({ type: "document", node: "x", at: 1 })),
    );
    raw.publish(`${subject}.notice.document`, new Uint8Array(10_000));
    await raw.flush();
    a.bus.publish({ type: "access", change: "revoke", organization: "acme", userId: "sam" });
    await waitFor(() => b.notices.some((n) => n.type === "access"), "the notice after the garbage");
    expect(b.invalid).toBe(3);

    // Cut b off: it knows it is disconnected, notices published meanwhile are lost to it...
    proxy.cut();
    await waitFor(() => !b.bus.connected, "b to notice the cut");
    a.bus.publish({ type: "document", documentId: "doc-lost", heads: "h2" });
    // ...and when the bus comes back it is told to re-read the store, which is how it finds
    // what it missed.
    const before = b.resyncs.length;
    proxy.restore();
    await waitFor(() => b.bus.connected && b.resyncs.length > before, "b to reconnect", 15_000);
    expect(b.resyncs.at(-1)).toBe("reconnect");
    expect(b.notices.some((n) => n.type === "document" && n.documentId === "doc-lost")).toBe(false);

    // Later notices flow again, both ways.
    a.bus.publish({ type: "work" });
    b.bus.publish({ type: "document", documentId: "doc2", heads: "h3" });
    await waitFor(() => b.notices.some((n) => n.type === "work"), "work notice on b");
    await waitFor(
      () => a.notices.some((n) => n.type === "document" && n.documentId === "doc2"),
      "b's notice on a",
    );
  });

  it("carries a notice's small chunks, and drops notices whose chunks are malformed or too big", async () => {
    const subject = `oms-test-${randomUUID().slice(0, 8)}`;
    const a = node(services.natsUrl, "node-a", subject);
    const b = node(services.natsUrl, "node-b", subject);
    await waitFor(() => a.bus.connected && b.bus.connected, "both buses to connect");
    const data = Buffer.alloc(MAX_INLINE_BYTES, 7).toString("base64");
    const chunks = [{ kind: "incremental" as const, name: "c1", data }];
    a.bus.publish({ type: "document", documentId: "doc1", heads: "h1", chunks });
    const got = await waitFor(
      () => b.notices.find((n) => n.type === "document"),
      "the notice with its chunk",
    );
    expect(got).toMatchObject({ documentId: "doc1", chunks });

    const raw = await connect({ servers: services.natsUrl });
    cleanups.push(() => raw.close());
    const send = (body: unknown) =>
      raw.publish(`${subject}.notice.document`, new TextEncoder().encode(JSON.stringify(body)));
    const base = { type: "document", node: "x", at: 1, documentId: "doc2", heads: "h2" };
    send({ ...base, chunks: [{ kind: "sync", name: "c", data: "AA==" }] });
    send({ ...base, chunks: "AA==" });
    send({
      ...base,
      chunks: [{ kind: "snapshot", name: "c", data: "A".repeat(MAX_NOTICE_BYTES) }],
    });
    await raw.flush();
    a.bus.publish({ type: "work" });
    await waitFor(() => b.notices.some((n) => n.type === "work"), "the notice after the bad ones");
    expect(b.invalid).toBe(3);
    expect(b.notices.some((n) => n.type === "document" && n.documentId === "doc2")).toBe(false);
  });

  it("carries a client's presence message, and drops one too big or malformed", async () => {
    const subject = `oms-test-${randomUUID().slice(0, 8)}`;
    const a = node(services.natsUrl, "node-a", subject);
    const b = node(services.natsUrl, "node-b", subject);
    await waitFor(() => a.bus.connected && b.bus.connected, "both buses to connect");
    const presence = {
      type: "ephemeral" as const,
      documentId: "doc1",
      senderId: "acme/alice/p1",
      sessionId: "s1",
      count: 3,
      data: Buffer.alloc(MAX_EPHEMERAL_BYTES, 1).toString("base64"),
    };
    a.bus.publish(presence);
    const got = await waitFor(
      () => b.notices.find((n) => n.type === "ephemeral"),
      "the presence message",
    );
    expect(got).toMatchObject(presence);

    const raw = await connect({ servers: services.natsUrl });
    cleanups.push(() => raw.close());
    const send = (body: unknown) =>
      raw.publish(`${subject}.notice.ephemeral`, new TextEncoder().encode(JSON.stringify(body)));
    const base = { ...presence, node: "x", at: 1, documentId: "doc2" };
    send({ ...base, data: Buffer.alloc(MAX_EPHEMERAL_BYTES + 3, 1).toString("base64") });
    send({ ...base, count: "3" });
    send({ ...base, senderId: "" });
    await raw.flush();
    await waitFor(() => b.invalid === 3, "the bad ones to be dropped");
    expect(b.notices.some((n) => n.type === "ephemeral" && n.documentId === "doc2")).toBe(false);
  });
});
