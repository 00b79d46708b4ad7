import { join } from "node:path";
import type { DocHandle } from "@automerge/automerge-repo";
import { Repo } from "@automerge/automerge-repo";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteStorageAdapter } from "../../src/adapters/storage-sqlite.js";
import {
  addLineItem,
  asOrganizationId,
  asUserId,
  createQuote,
  type Quote,
} from "../../src/docs/index.js";
import { openDatabase } from "../../src/relay/database.js";
import { tempDir, waitFor } from "../integration/helpers.js";
import { portOf, services, servicesAvailable } from "../integration/services.js";
import { startTcpProxy } from "../integration/tcp-proxy.js";
import { type Device, device, sortedHeads, startNodes, storedByRelay, token } from "./nodes.js";

const available = await servicesAvailable("tests/cluster/three-nodes.test.ts");
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!available)("three relay processes on one store and one bus", () => {
  it("bring every edit to every reader, converge without the bus, and revoke everywhere", async () => {
    const data = tempDir();
    cleanups.push(data.remove);
    const busProxy = await startTcpProxy(portOf(services.natsUrl, 4222));
    cleanups.push(() => busProxy.close());
    const nodes = await startNodes({
      store: { dataDir: data.dir },
      busUrls: [services.natsUrl, services.natsUrl, `nats://${busProxy.address}`],
      recheckMs: 500,
    });
    cleanups.push(() => {
      for (const n of nodes) n.process.child.kill("SIGKILL");
    });
    const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];

    // Two devices of alice on each node.
    const devices: Device[] = [];
    for (const node of nodes) for (let i = 0; i < 2; i++) devices.push(await device(node, "alice"));
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

    // Every device edits; every device ends with every edit (heads equal everywhere).
    const converged = (expected: number) =>
      handles.every(
        (h) =>
          Object.keys(h.doc().lineItems).length === expected &&
          sortedHeads(h) === sortedHeads(handles[0] as DocHandle<Quote>),
      );
    for (const [i, h] of handles.entries())
      h.change((q) => {
        addLineItem(q, { productCode: `P-${i}`, quantity: 1, unitPrice: 100 * (i + 1) });
      });
    await waitFor(() => converged(devices.length), "every device to hold every edit", 15_000);

    // Node c loses the bus: its devices still get the edits made on a, by re-reading the store.
    busProxy.cut();
    for (const h of handles.slice(0, 2))
      h.change((q) => {
        addLineItem(q, { productCode: "P-while-cut", quantity: 2, unitPrice: 50 });
      });
    await waitFor(
      () => converged(devices.length + 2),
      "node c's devices to converge without the bus",
      15_000,
    );
    // And the other way: edits made on c reach a and b.
    (handles[4] as DocHandle<Quote>).change((q) => {
      addLineItem(q, { productCode: "P-from-c", quantity: 1, unitPrice: 10 });
    });
    await waitFor(() => converged(devices.length + 3), "node c's edit to reach a and b", 15_000);
    const metrics = await (await fetch(`${c.process.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/oms_relay_bus_connected\{node="node-c"\} 0/);
    busProxy.restore();

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

    // The store holds what every device holds.
    for (const d of devices) d.close();
    const db = openDatabase(join(data.dir, "relay.db"));
    const reader = new Repo({ storage: new SqliteStorageAdapter(db), network: [] });
    const stored = await reader.find<Quote>(quote.url);
    expect(sortedHeads(stored)).toBe(sortedHeads(handles[0] as DocHandle<Quote>));
    await reader.shutdown();
    db.close();
  }, 90_000);
});
