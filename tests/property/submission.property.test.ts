import { join } from "node:path";
import * as A from "@automerge/automerge";
import Database from "better-sqlite3";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createClient, type OmsClient, type OmsDocumentHandle } from "../../src/client/index.js";
import { addLineItem, type Order } from "../../src/docs/index.js";
import type { Relay } from "../../src/relay/index.js";
import {
  applyDocumentAction,
  arbDocumentAction,
  type DocumentAction,
  propertyRuns,
} from "../../src/testing/index.js";
import { startRelay, tempDir, waitFor } from "../integration/helpers.js";

// A whole-system property over real sockets: each run is a relay and 2 to 3 clients, so it runs
// a fiftieth of OMS_PROPERTY_RUNS (10 by default).
const runs = Math.max(10, Math.floor(propertyRuns(500) / 50));

type Step =
  | { kind: "edit"; device: number; action: DocumentAction }
  | { kind: "submit"; device: number }
  | { kind: "sync"; device: number }
  | { kind: "restartDevice"; device: number }
  | { kind: "toggleRelay" };

const arbStep = (devices: number): fc.Arbitrary<Step> =>
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("edit" as const),
        device: fc.nat(devices - 1),
        action: arbDocumentAction(),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant("submit" as const), device: fc.nat(devices - 1) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant("sync" as const), device: fc.nat(devices - 1) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("restartDevice" as const),
        device: fc.nat(devices - 1),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("toggleRelay" as const) }) },
  );

const arbScenario = fc.integer({ min: 2, max: 3 }).chain((devices) =>
  fc.record({
    devices: fc.constant(devices),
    steps: fc.array(arbStep(devices), { minLength: 4, maxLength: 12 }),
  }),
);

async function world(devices: number) {
  const data = tempDir("oms-prop-relay-");
  const folders = Array.from({ length: devices }, () => tempDir("oms-prop-device-"));
  let relay: Relay | undefined = await startRelay(data.dir);
  const port = relay.port;
  const url = relay.url;
  const token = await relay.mintToken({ sub: "alice", org: "acme", roles: ["rep"], offline: true });
  const open = (i: number) =>
    createClient({
      url,
      token,
      storage: { folder: folders[i]?.dir as string },
      schedule: {
        backoffInitialMs: 20,
        backoffMaxMs: 100,
        connectTimeoutMs: 2_000,
        syncTimeoutMs: 5_000,
      },
    });
  const clients: OmsClient[] = [];
  for (let i = 0; i < devices; i++) clients.push(await open(i));
  return {
    data,
    clients,
    get relay() {
      return relay;
    },
    async toggleRelay() {
      if (relay) {
        await relay.close();
        relay = undefined;
      } else relay = await startRelay(data.dir, { port });
    },
    async restartDevice(i: number) {
      await clients[i]?.close();
      clients[i] = await open(i);
    },
    async close() {
      for (const c of clients) await c.close();
      await relay?.close();
      data.remove();
      for (const f of folders) f.remove();
    },
  };
}

describe("submission across devices, partitions and restarts", () => {
  it("gives every request exactly one outcome, unique numbers, and immutable transmitted views", async () => {
    await fc.assert(
      fc.asyncProperty(arbScenario, async ({ devices, steps }) => {
        const w = await world(devices);
        try {
          const first = w.clients[0] as OmsClient;
          const created = await first.orders.create({
            currency: "USD",
            customer: { name: "Hansen" },
          });
          created.change((o) => addLineItem(o, { productCode: "DH", quantity: 1, unitPrice: 100 }));
          const orderId = created.id;
          for (const c of w.clients) await c.sync.now();
          const handle = async (i: number): Promise<OmsDocumentHandle<Order>> =>
            (w.clients[i] as OmsClient).orders.open(orderId);

          for (const step of steps) {
            if (step.kind === "edit")
              (await handle(step.device)).change((o) => applyDocumentAction(o, step.action));
            else if (step.kind === "submit")
              await w.clients[step.device]?.orders
                .submit(orderId)
                .catch((e) => expect(e.code).toBe("INVALID_INPUT"));
            else if (step.kind === "sync")
              await w.clients[step.device]?.sync.now().catch(() => undefined);
            else if (step.kind === "restartDevice") await w.restartDevice(step.device);
            else await w.toggleRelay();
          }

          // Heal: relay up, every device synced until its requests are answered.
          if (!w.relay) await w.toggleRelay();
          const relay = w.relay as Relay;
          await waitFor(
            async () => {
              for (const c of w.clients) await c.sync.now().catch(() => undefined);
              await relay.processed();
              const states = await Promise.all(w.clients.map((c) => c.orders.state(orderId)));
              return states.every((s) => s.status !== "pending");
            },
            "every request answered",
            30_000,
          );
          for (const c of w.clients) await c.sync.now();

          // The relay may not hold it loaded (a restarted relay loads only what a sync needs,
          // and devices in step need nothing): read it from the relay's storage.
          const relayOrder = (await relay.repo.find<Order>(orderId as never)).doc() as A.Doc<Order>;
          const requestIds = Object.keys(relayOrder.submissions).sort();
          const db = new Database(join(w.data.dir, "relay.db"), { readonly: true });
          const outcomes = db
            .prepare(
              "SELECT request_id, status, revision, order_number, heads FROM submission_outcomes ORDER BY request_id",
            )
            .all() as {
            request_id: string;
            status: string;
            revision: number | null;
            order_number: string | null;
            heads: string | null;
          }[];
          const numbers = db.prepare("SELECT order_id, order_number FROM order_numbers").all();
          db.close();

          // Exactly one outcome per request, and none for anything else.
          expect(outcomes.map((o) => o.request_id)).toEqual(requestIds);
          // Numbers: one per order; accepted revisions are 1..k under that number.
          expect(numbers.length).toBeLessThanOrEqual(1);
          const accepted = outcomes
            .filter((o) => o.status === "accepted")
            .sort((a, b) => (a.revision as number) - (b.revision as number));
          expect(accepted.map((o) => o.revision)).toEqual(accepted.map((_, i) => i + 1));
          for (const o of accepted) expect(o.order_number).toBe("SO-000001");

          // Every device's ledger agrees with the relay's record.
          for (const c of w.clients) {
            const ledger = await c.ledger.get();
            for (const o of outcomes)
              expect(ledger.submissions[o.request_id as never]?.status).toBe(o.status);
          }

          // Transmitted views: the same on every copy, and unchanged by a later edit.
          const views = () =>
            accepted.map((o) =>
              JSON.stringify(A.toJS(A.view(relayOrder, JSON.parse(o.heads as string)))),
            );
          const before = views();
          (await handle(0)).change((o) => {
            o.projectName = `${o.projectName} (later)`;
          });
          await (w.clients[0] as OmsClient).sync.now();
          expect(views()).toEqual(before);
          for (let i = 0; i < w.clients.length; i++) {
            const copy = (await handle(i)).doc() as A.Doc<Order>;
            expect(
              accepted.map((o) =>
                JSON.stringify(A.toJS(A.view(copy, JSON.parse(o.heads as string)))),
              ),
            ).toEqual(before);
          }
        } finally {
          await w.close();
        }
      }),
      {
        numRuns: runs,
        endOnFailure: true,
        examples: [
          // CI's seed -468376105 found it: after a relay restart nothing needed the order loaded
          // (every device in step), and the check read the relay's loaded copy, not its storage.
          [
            {
              devices: 3,
              steps: [
                { kind: "sync", device: 0 },
                { kind: "toggleRelay" },
                { kind: "restartDevice", device: 1 },
                { kind: "restartDevice", device: 1 },
                { kind: "toggleRelay" },
              ],
            },
          ],
          // Seed 87235888 found it: a second device's first sync ended "complete" without the
          // order its workspace listed, so the order could not be opened offline.
          [
            {
              devices: 2,
              steps: [
                { kind: "toggleRelay" },
                { kind: "submit", device: 1 },
                { kind: "toggleRelay" },
                { kind: "restartDevice", device: 1 },
                { kind: "toggleRelay" },
              ],
            },
          ],
          // Seed -48076211 found it: sync.now() joined a run that had started before the order
          // existed on the relay, and resolved without it.
          [
            {
              devices: 3,
              steps: [
                { kind: "toggleRelay" },
                { kind: "edit", device: 0, action: { type: "moveLine", pick: 2, to: 2 } },
                { kind: "sync", device: 2 },
                { kind: "submit", device: 1 },
              ],
            },
          ],
        ],
      },
    );
  }, 600_000);
});
