import type { DocHandle } from "@automerge/automerge-repo";
import { Repo } from "@automerge/automerge-repo";
import { afterAll, describe, expect, it } from "vitest";
import {
  addLineItem,
  asOrganizationId,
  asUserId,
  createQuote,
  type Quote,
} from "../../src/docs/index.js";
import { isRefusalNotice, type RefusalNotice } from "../../src/relay/protocol.js";
import { openStore } from "../../src/relay/store/open.js";
import { tempDir, waitFor } from "../integration/helpers.js";
import { portOf, services, servicesAvailable } from "../integration/services.js";
import { startTcpProxy } from "../integration/tcp-proxy.js";
import { createTestDatabase } from "../store/postgres-test-database.js";
import {
  type Device,
  device,
  reassign,
  sortedHeads,
  startNodes,
  storedByRelay,
  through,
  token,
} from "./nodes.js";

const available = await servicesAvailable("tests/cluster/three-nodes.test.ts");
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// A kept-alive connection the node closes just as it is reused fails the request (undici's race
// with the server's keep-alive timeout): that is no answer, asked again by the waits.
const health = async (url: string) =>
  (await fetch(`${url}/healthz`).catch(() => undefined))?.status ?? 0;

describe.skipIf(!available)("three relay processes on PostgreSQL and NATS", () => {
  it("bring every edit to every reader, survive losing the bus or the database, and revoke everywhere", async () => {
    const db = await createTestDatabase("oms_cluster");
    cleanups.push(() => db.drop());
    // Node c reaches NATS and PostgreSQL through proxies the test cuts.
    const busProxy = await startTcpProxy(portOf(services.natsUrl, 4222));
    const pgProxy = await startTcpProxy(portOf(db.url, 5432));
    cleanups.push(() => busProxy.close());
    cleanups.push(() => pgProxy.close());
    const nodes = await startNodes({
      databases: [db.url, db.url, through(db.url, pgProxy.address)],
      busUrls: [services.natsUrl, services.natsUrl, `nats://${busProxy.address}`],
      recheckMs: 500,
    });
    cleanups.push(() => {
      for (const n of nodes) n.process.child.kill("SIGKILL");
    });
    const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];

    // Two devices of alice on each node; a device whose node drops it goes to the next one.
    const devices: Device[] = [];
    for (const node of nodes)
      for (let i = 0; i < 2; i++) devices.push(await device(node, "alice", { failover: nodes }));
    cleanups.push(() => {
      for (const d of devices) d.close();
    });
    const first = devices[0] as Device;
    const quote = first.repo.create<Quote>(
      createQuote({
        owner: asUserId("alice"),
        organization: asOrganizationId("acme"),
        currency: "USD",
      }),
    );
    await waitFor(() => storedByRelay(first.repo, quote), "the quote stored by node a");
    const handles: DocHandle<Quote>[] = await Promise.all(
      devices.map((d) => d.repo.find<Quote>(quote.url)),
    );
    let items = 0;
    const edit = (h: DocHandle<Quote>, code: string) => {
      items++;
      h.change((q) => {
        addLineItem(q, { productCode: code, quantity: 1, unitPrice: 100 });
      });
    };
    const converged = () =>
      handles.every(
        (h) =>
          Object.keys(h.doc().lineItems).length === items &&
          sortedHeads(h) === sortedHeads(handles[0] as DocHandle<Quote>),
      );

    // Every device edits; every device ends with every edit (heads equal everywhere).
    for (const [i, h] of handles.entries()) edit(h, `P-${i}`);
    await waitFor(converged, "every device to hold every edit", 15_000);

    // Presence: an ephemeral message from a device on node a reaches alice's devices on every
    // node (on b and c through the bus), and not a rep of hers who asked for the quote and was
    // refused.
    const carol = await device(b, "carol");
    cleanups.push(() => carol.close());
    const carolsCopy = carol.repo.find<Quote>(quote.url).catch(() => undefined);
    const heard = handles.map(() => [] as unknown[]);
    for (const [i, h] of handles.entries())
      h.on("ephemeral-message", (e) => heard[i]?.push(e.message));
    let carolHeard = 0;
    const carolHandle = await Promise.race([
      carolsCopy,
      new Promise<undefined>((r) => setTimeout(r, 2_000)),
    ]);
    carolHandle?.on("ephemeral-message", () => carolHeard++);
    const cursorAt = (i: number) => ({ cursor: `line-${i}` });
    (handles[0] as DocHandle<Quote>).broadcast(cursorAt(0));
    await waitFor(
      () =>
        heard
          .slice(1)
          .every((m) => m.some((x) => JSON.stringify(x) === JSON.stringify(cursorAt(0)))),
      "presence from node a on the devices of every node",
      15_000,
    );
    // And back: from node c to node a.
    (handles[5] as DocHandle<Quote>).broadcast(cursorAt(5));
    await waitFor(
      () => heard[0]?.some((x) => JSON.stringify(x) === JSON.stringify(cursorAt(5))) === true,
      "presence from node c on node a",
      15_000,
    );
    expect(carolHeard).toBe(0);
    const presence = await (await fetch(`${b.process.httpUrl}/metrics`)).text();
    expect(presence).toMatch(/oms_relay_bus_notices_total\{[^}]*type="ephemeral"[^}]*\} [1-9]/);

    // Node c loses the bus: its devices still get edits made on a, by re-reading the store,
    // and edits made on c reach a and b.
    busProxy.cut();
    edit(handles[0] as DocHandle<Quote>, "P-while-cut-a");
    edit(handles[4] as DocHandle<Quote>, "P-while-cut-c");
    await waitFor(converged, "convergence with node c cut from the bus", 15_000);
    const metrics = await (await fetch(`${c.process.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/oms_relay_bus_connected\{node="node-c"\} 0/);
    busProxy.restore();

    // Node c loses PostgreSQL while devices edit: it refuses clients (503, sockets closed with
    // 1013), its devices move on to other nodes, nothing is lost; it comes back by itself.
    pgProxy.cut();
    await waitFor(async () => (await health(c.process.httpUrl)) === 503, "node c to report 503");
    await waitFor(
      () => devices.slice(4).every((d) => d.closes.includes(1013)),
      "node c to close its sockets with 1013",
    );
    for (const [i, h] of handles.entries()) edit(h, `P-db-cut-${i}`);
    await waitFor(converged, "convergence while node c has no database", 20_000);
    pgProxy.restore();
    await waitFor(
      async () => (await health(c.process.httpUrl)) === 200,
      "node c to recover",
      15_000,
    );
    // Later work flows through node c again.
    const late = await device(c, "alice");
    cleanups.push(() => late.close());
    const lateHandle = await late.repo.find<Quote>(quote.url);
    handles.push(lateHandle);
    edit(lateHandle, "P-after-recovery");
    await waitFor(converged, "an edit made on the recovered node to reach everyone", 15_000);

    // The catalogue is shared: every node lists the quote, its row written by whichever node
    // stored it last, with every line once the edits have settled.
    const aliceToken = await token("alice");
    const quoteId = quote.url.replace("automerge:", "");
    const listed = async (node: (typeof nodes)[0]) => {
      // A node just back from losing PostgreSQL may drop a connection: waitFor asks again.
      const res = await fetch(`${node.process.httpUrl}/v1/documents?kind=quote`, {
        headers: { authorization: `Bearer ${aliceToken}` },
      }).catch(() => undefined);
      if (res?.status !== 200) return undefined;
      const page = (await res.json()) as { rows: { id: string; lines: number }[] };
      return page.rows.find((r) => r.id === quoteId)?.lines;
    };
    for (const node of nodes)
      await waitFor(async () => (await listed(node)) === items, "the quote's row on every node");

    // A revocation made on node a closes bob's socket on node b, and node c refuses him.
    const bob = await device(b, "bob");
    cleanups.push(() => bob.close());
    const boss = await token("boss", ["admin"]);
    const revoked = await fetch(`${a.process.httpUrl}/v1/admin/users/bob/revoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${boss}`, "content-type": "application/json" },
      body: JSON.stringify({ reason: "left the company" }),
    });
    expect(revoked.status).toBe(200);
    await waitFor(() => bob.closes.includes(4003), "bob's socket on node b to close", 3_000);
    const bobToken = await token("bob");
    await waitFor(
      async () =>
        (
          await fetch(`${c.process.httpUrl}/v1/session`, {
            headers: { authorization: `Bearer ${bobToken}` },
          })
        ).status === 403,
      "node c to refuse bob",
      2_000,
    );

    // A reassignment made on node a takes effect on node b within a second: alice's next change
    // there is refused, and dave, the new owner, opens the quote on node c.
    const aliceOnB = devices[2] as Device;
    expect(aliceOnB.node).toBe(b);
    const given = aliceOnB.repo.create<Quote>(
      createQuote({
        owner: asUserId("alice"),
        organization: asOrganizationId("acme"),
        currency: "USD",
      }),
    );
    await waitFor(() => storedByRelay(aliceOnB.repo, given), "alice's second quote on node b");
    // Dave signs in on node c first: an admin may give a document only to a known member.
    const dave = await device(c, "dave");
    cleanups.push(() => dave.close());
    const refusals: RefusalNotice[] = [];
    given.on("ephemeral-message", ({ message }) => {
      if (isRefusalNotice(message)) refusals.push(message);
    });
    expect(await reassign(a, given.documentId, "dave")).toBe(200);
    await new Promise((r) => setTimeout(r, 1_000));
    given.change((q) => {
      q.projectName = "alice keeps typing";
    });
    const refused = await waitFor(() => refusals[0], "node b to refuse alice's change", 10_000);
    expect(refused.reasons[0]?.code).toBe("ACCESS_REVOKED");
    const davesCopy = await dave.repo.find<Quote>(given.url);
    expect(davesCopy.doc().owner).toBe("dave");
    expect(davesCopy.doc().projectName).not.toBe("alice keeps typing");
    dave.close();

    // PostgreSQL holds what every device holds.
    for (const d of [...devices, late]) d.close();
    const data = tempDir();
    cleanups.push(data.remove);
    const store = await openStore({ database: db.url, dataDir: data.dir });
    const reader = new Repo({ storage: store.chunks, network: [] });
    const stored = await reader.find<Quote>(quote.url);
    expect(Object.keys(stored.doc().lineItems)).toHaveLength(items);
    expect(sortedHeads(stored)).toBe(sortedHeads(handles[0] as DocHandle<Quote>));
    await reader.shutdown();
    await store.close();
  }, 150_000);
});
