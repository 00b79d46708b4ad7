import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as A from "@automerge/automerge";
import { afterEach, describe, expect, it } from "vitest";
import { seedOms } from "../../bench/fixtures.js";
import { createClient } from "../../src/client/index.js";
import { mintToken } from "../../src/relay/auth.js";
import { spawnClientProcess, TEST_SECRET, tempDir } from "./helpers.js";
import { spawnRelay } from "./relay-process.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** One of the relay's counters, from /metrics (summed over labels). */
async function counter(httpUrl: string, name: string, label = ""): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split("\n"))
    if (line.startsWith(name) && line.includes(label)) total += Number(line.split(" ").at(-1));
  return total;
}

/** Every file named `name` under a folder, with its path. */
function filesNamed(dir: string, name: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((p) => p.endsWith(name))
    .map((p) => join(dir, p));
}

const alice = () =>
  mintToken(new TextEncoder().encode(TEST_SECRET), {
    sub: "alice",
    org: "acme",
    roles: ["rep"],
    offline: true,
  });

const total = 300;

/** A relay process with `n` orders in alice's "My", and an empty device folder. */
async function seeded(n: number) {
  const relayData = tempDir();
  const device = tempDir();
  cleanups.push(relayData.remove, device.remove);
  const ids = await seedOms(relayData.dir, n);
  const relay = await spawnRelay(relayData.dir);
  cleanups.push(() => void relay.child.kill("SIGKILL"));
  return { relay, device, ids };
}

describe("a first sync of many documents", () => {
  it("killed half way, resumes: what the device wrote is not sent again, and no chunk is torn", async () => {
    const { relay, device, ids } = await seeded(total);
    const token = await alice();

    // A client process whose first sync writes pages of 25 and kills itself half way.
    const { child, exited, lines } = spawnClientProcess(
      [relay.url, token, device.dir, "0", String(total / 2)],
      { OMS_BULK_PAGE: "25" },
    );
    cleanups.push(() => void child.kill("SIGKILL"));
    let killed = "";
    lines.on("line", (line) => {
      if (line.startsWith("KILLED ")) killed = line.slice(7);
    });
    const signal = await exited;
    expect(signal).toBe("SIGKILL");
    const [done, of] = killed.split("/").map(Number);
    expect(done).toBeGreaterThanOrEqual(total / 2);
    expect(done).toBeLessThan(of as number);

    // Every chunk the killed process left is whole (written aside, then renamed into place).
    const written = filesNamed(device.dir, "bulk.chunk");
    expect(written.length).toBeGreaterThanOrEqual(total / 2);
    for (const file of written) A.free(A.load(new Uint8Array(readFileSync(file))));
    // The documents on the device: those written in bulk and alice's own records.
    const partition = join(device.dir, "oms-partition", "acme", "alice");
    const held = readdirSync(partition, { withFileTypes: true }).filter(
      (entry) => entry.isDirectory() && entry.name !== "oms-sync",
    ).length;
    const ofChild = (name: string) => name.startsWith(`${child.pid}.`);
    expect(readdirSync(join(device.dir, ".tmp")).filter(ofChild)).toHaveLength(1);
    const sentBefore = await counter(relay.httpUrl, "oms_relay_bulk_documents_total");
    const syncBefore = await counter(relay.httpUrl, "oms_relay_messages_in_total", 'type="sync"');

    // The next start fetches only what the device does not hold, without a sync per document.
    const client = await createClient({
      url: relay.url,
      token,
      storage: { folder: device.dir },
      schedule: { bulkPageDocuments: 25 },
    });
    cleanups.push(() => client.close());
    await client.sync.now();
    expect(client.sync.status.state).toBe("complete");
    const sent = (await counter(relay.httpUrl, "oms_relay_bulk_documents_total")) - sentBefore;
    // At most the documents of the scope (the orders and alice's own records) less those held;
    // her own records may come over the socket instead (the client opens them to know its scope).
    const scope = client.sync.status.progress.documentsTotal;
    expect(scope).toBe(total + 4);
    expect(sent).toBeLessThanOrEqual(scope - held);
    expect(sent).toBeGreaterThanOrEqual(scope - held - 4);
    const syncs =
      (await counter(relay.httpUrl, "oms_relay_messages_in_total", 'type="sync"')) - syncBefore;
    expect(syncs).toBeLessThan(20);
    // The killed process's temporary folder is gone.
    expect(readdirSync(join(device.dir, ".tmp")).filter(ofChild)).toEqual([]);
    await client.close();

    // Later work flows: the device has every order offline, and a change syncs.
    relay.child.kill("SIGTERM");
    await relay.exited;
    const offline = await createClient({
      url: relay.url,
      token,
      storage: { folder: device.dir },
    });
    cleanups.push(() => offline.close());
    for (const id of [ids[0], ids[total / 2], ids[total - 1]]) {
      const order = await offline.orders.open(id as string);
      expect(Object.keys(order.doc().lineItems)).toHaveLength(20);
    }
  }, 180_000);

  it("brings a document opened during the first sync ahead of the queue", async () => {
    const { relay, device, ids } = await seeded(total);
    const client = await createClient({
      url: relay.url,
      token: await alice(),
      storage: { folder: device.dir },
      schedule: { bulkPageDocuments: 25 },
    });
    cleanups.push(() => client.close());
    const started = new Promise<void>((resolve) =>
      client.sync.subscribe((s) => {
        if (s.state === "syncing" && s.progress.documentsDone >= 25) resolve();
      }),
    );
    const sync = client.sync.now();
    await started;
    // Not yet on the device: it comes over the socket while the bulk pages go on.
    const wanted = ids.find((id) =>
      filesNamed(device.dir, "bulk.chunk").every((f) => !f.includes(id)),
    );
    const order = await client.orders.open(wanted as string);
    const { documentsDone, documentsTotal } = client.sync.status.progress;
    expect(Object.keys(order.doc().lineItems)).toHaveLength(20);
    expect(documentsDone).toBeLessThan(documentsTotal);
    await sync;
    expect(client.sync.status.state).toBe("complete");
    // It was not fetched in bulk as well.
    expect(await counter(relay.httpUrl, "oms_relay_bulk_documents_total")).toBeLessThan(
      client.sync.status.progress.documentsTotal,
    );
    await client.close();
    const bulk = filesNamed(device.dir, "bulk.chunk");
    expect(bulk.some((f) => f.includes(wanted as string))).toBe(false);
    expect(bulk.length).toBeGreaterThanOrEqual(total - 1);
  }, 180_000);
});
