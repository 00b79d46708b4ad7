import * as A from "@automerge/automerge";
import { type AutomergeUrl, type DocHandle, decodeHeads, Repo } from "@automerge/automerge-repo";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import {
  addLineItem,
  addSubmissionRequest,
  asOrganizationId,
  asUserId,
  createOrder,
  type Order,
} from "../../src/docs/index.js";
import { openStore } from "../../src/relay/store/open.js";
import { editAtRandom, prng } from "../integration/chaos-edits.js";
import { tempDir, waitFor } from "../integration/helpers.js";
import { services, servicesAvailable } from "../integration/services.js";
import { createTestDatabase } from "../store/postgres-test-database.js";
import { type Device, device, startNodes, storedByRelay, type TestNode, token } from "./nodes.js";

// Three relay nodes on one store; one node at a time is SIGKILLed at random moments while reps
// edit and submit, their devices failing over to the next node as a load balancer would send
// them. Sizes: OMS_CLUSTER_CLIENTS (default 6; the run is 30), OMS_CLUSTER_ROUNDS
// (default 2), OMS_CLUSTER_SEED (printed in the test name).
const CLIENTS = Number(process.env.OMS_CLUSTER_CLIENTS) || 6;
const rounds = Number(process.env.OMS_CLUSTER_ROUNDS) || 2;
const seed = Number(process.env.OMS_CLUSTER_SEED) || Date.now() % 1_000_000;

const available = await servicesAvailable("tests/cluster/cluster-chaos.test.ts");
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Rep {
  device: Device;
  receipt: string;
  order: DocHandle<Order>;
  /** Every head a node reported stored for the order. */
  reported: Set<string>;
}

async function receiptFor(node: TestNode, user: string): Promise<string> {
  const res = await fetch(`${node.process.httpUrl}/v1/session`, {
    headers: { authorization: `Bearer ${await token(user)}` },
  });
  return ((await res.json()) as { relayTime: { receipt: string } }).relayTime.receipt;
}

async function rep(nodes: TestNode[], i: number): Promise<Rep> {
  const user = `rep${i}`;
  const node = nodes[i % nodes.length] as TestNode;
  const d = await device(node, user, { failover: nodes });
  cleanups.push(() => d.close());
  const order = d.repo.create<Order>(
    createOrder({
      owner: asUserId(user),
      organization: asOrganizationId("acme"),
      currency: "USD",
      customer: { name: `Customer ${i}` },
    }),
  );
  order.change((o) => {
    addLineItem(o, { productCode: "DH-3046", quantity: 1, unitPrice: 1_000 });
  });
  const reported = new Set<string>();
  order.on("remote-heads", ({ heads }) => {
    for (const h of decodeHeads(heads)) reported.add(h);
  });
  return { device: d, receipt: await receiptFor(node, user), order, reported };
}

function request(r: Rep): string {
  let id = "";
  r.order.change((o) => {
    id = addSubmissionRequest(o, {
      requestedBy: asUserId(r.device.user),
      heads: A.getHeads(o),
      lastSyncAt: Date.now(),
      lastSyncReceipt: r.receipt,
    });
  });
  return id;
}

describe.skipIf(!available)("three relay nodes, one killed at random moments", () => {
  it(`lose nothing acknowledged and give every request one outcome (${rounds} rounds, ${CLIENTS} clients, seed ${seed})`, async () => {
    const random = prng(seed);
    const database = await createTestDatabase("oms_chaos");
    cleanups.push(() => database.drop());
    const nodes = await startNodes({
      databases: [database.url, database.url, database.url],
      busUrls: [services.natsUrl, services.natsUrl, services.natsUrl],
      recheckMs: 500,
      extraArgs: ["--processor-interval-ms", "1000"],
    });
    cleanups.push(() => {
      for (const n of nodes) n.process.child.kill("SIGKILL");
    });
    const reps: Rep[] = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => rep(nodes, i)));
    await waitFor(
      () => reps.every((r) => storedByRelay(r.device.repo, r.order)),
      "every order stored",
      30_000,
    );

    // One request reaching two nodes at once: two offline devices of one rep hold the same new
    // request, then connect at the same moment, one to node a and one to node b.
    const twinA = reps[0] as Rep;
    const twinB = await device(nodes[1] as TestNode, twinA.device.user);
    cleanups.push(() => twinB.close());
    const twinOrder = await twinB.repo.find<Order>(twinA.order.url);
    twinA.device.pause();
    twinB.pause();
    const twinRequest = request(twinA);
    twinOrder.merge(twinA.order);
    twinA.device.node = nodes[0] as TestNode;
    twinA.device.resume();
    twinB.resume();
    let requests = 1;

    const editor = editAtRandom(random, reps, request);

    for (let round = 0; round < rounds; round++) {
      await new Promise((res) => setTimeout(res, 300 + random() * 1_500));
      const victim = nodes[Math.floor(random() * nodes.length)] as TestNode;
      victim.process.child.kill("SIGKILL");
      expect((await victim.process.exited).signal).toBe("SIGKILL");
      await new Promise((res) => setTimeout(res, random() * 300));
      await victim.restart();
    }
    const done = await editor.stop();
    const edits = done.edits;
    requests += done.requests;

    await waitFor(
      () => reps.every((r) => storedByRelay(r.device.repo, r.order)),
      "every order stored after the last kill",
      60_000,
    );
    const requestIds = reps.flatMap((r) => Object.keys(r.order.doc().submissions));
    expect(requestIds.length).toBe(requests);
    expect(requestIds).toContain(twinRequest);
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    cleanups.push(() => db.end());
    const decided = async () =>
      (
        await db.query<{ request_id: string }>("SELECT request_id FROM submission_outcomes")
      ).rows.map((r) => r.request_id);
    await waitFor(
      async () => {
        const ids = new Set(await decided());
        return requestIds.every((id) => ids.has(id));
      },
      "every submission request to have its outcome",
      60_000,
    );
    const rows = await decided();
    expect(new Set(rows).size).toBe(rows.length);
    expect(rows.sort()).toEqual([...requestIds].sort());
    await waitFor(
      async () =>
        (await db.query("SELECT 1 FROM submission_outcomes WHERE NOT delivered")).rowCount === 0,
      "every outcome delivered",
      30_000,
    );
    const numbers = (
      await db.query<{ n: string }>(
        "SELECT order_number AS n FROM order_numbers WHERE organization = 'acme'",
      )
    ).rows
      .map((r) => Number(/(\d+)$/.exec(r.n)?.[1]))
      .sort((x, y) => x - y);
    expect(numbers.length).toBeGreaterThan(0);
    expect(numbers).toEqual(numbers.map((_, i) => i + 1));

    for (const n of nodes) n.process.child.kill("SIGTERM");
    await Promise.all(nodes.map((n) => n.process.exited));
    for (const r of reps) r.device.close();
    twinB.close();

    // Every head any node reported stored is in PostgreSQL, with every line item.
    const data = tempDir();
    cleanups.push(data.remove);
    const store = await openStore({ database: database.url, dataDir: data.dir });
    const repo = new Repo({ storage: store.chunks, network: [] });
    for (const r of reps) {
      const handle = await repo.find<Order>(r.order.url as AutomergeUrl);
      expect(A.hasHeads(handle.doc() as A.Doc<Order>, [...r.reported]), r.device.user).toBe(true);
      expect(Object.keys(handle.doc().lineItems).length).toBe(
        Object.keys(r.order.doc().lineItems).length,
      );
    }
    await repo.shutdown();
    await store.close();
    expect(edits).toBeGreaterThan(rounds * 10);
  }, 180_000);
});
