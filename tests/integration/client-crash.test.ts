import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "../../src/client/index.js";
import { mintToken } from "../../src/relay/auth.js";
import { spawnClientProcess, TEST_SECRET, tempDir } from "./helpers.js";
import { type RelayProcess, spawnRelay } from "./relay-process.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function registered(relay: RelayProcess): Promise<number> {
  const health = (await (await fetch(`${relay.httpUrl}/healthz`)).json()) as { documents: number };
  return health.documents;
}

describe("a Node client killed mid-sync", () => {
  it("finds its local edits on the device after a restart, and syncs them", async () => {
    const relayData = tempDir();
    const device = tempDir();
    cleanups.push(relayData.remove, device.remove);
    let relay = await spawnRelay(relayData.dir);
    cleanups.push(() => void relay.child.kill("SIGKILL"));
    const port = relay.port;
    const url = relay.url;
    const token = await mintToken(new TextEncoder().encode(TEST_SECRET), {
      sub: "alice",
      org: "acme",
      roles: ["rep"],
      offline: true,
    });
    const run = (count: number, killAt?: number) => {
      const spawned = spawnClientProcess([
        url,
        token,
        device.dir,
        String(count),
        ...(killAt ? [String(killAt)] : []),
      ]);
      cleanups.push(() => void spawned.child.kill("SIGKILL"));
      return spawned;
    };
    // A first start needs the relay; then the rep works offline.
    await run(0).exited;
    const before = await registered(relay);
    relay.child.kill("SIGTERM");
    await relay.exited;

    const count = 150;
    const { exited, lines } = run(count, 20);
    let synced = false;
    let killedAt = "";
    const ids = await new Promise<string[]>((resolve, reject) => {
      lines.on("line", (line) => {
        if (line.startsWith("SAVED ")) resolve(JSON.parse(line.slice(6)) as string[]);
        if (line === "SYNCED") synced = true;
        if (line.startsWith("KILLED ")) killedAt = line.slice(7);
      });
      void exited.then(() => reject(new Error("the client process ended before it saved")));
    });
    relay = await spawnRelay(relayData.dir, [], port);
    // The client kills itself once 20 documents of the run are done.
    expect(await exited).toBe("SIGKILL");
    expect(synced).toBe(false);
    const [done, total] = killedAt.split("/").map(Number);
    expect(done).toBeGreaterThanOrEqual(20);
    expect(done).toBeLessThan(total as number);

    const restarted = await createClient({ url, token, storage: { folder: device.dir } });
    cleanups.push(() => restarted.close());
    const listed = await restarted.quotes.list();
    expect(listed.map((q) => q.id).sort()).toEqual([...ids].sort());
    for (const q of listed) expect(Object.keys(q.doc.lineItems)).toHaveLength(1);
    await restarted.sync.now();
    expect(restarted.sync.status).toMatchObject({ state: "complete", pendingDocuments: 0 });
    expect((await registered(relay)) - before).toBe(count);

    // Another device gets every quote from the relay.
    const other = await createClient({ url, token, storage: "memory" });
    cleanups.push(() => other.close());
    await other.sync.now();
    const names = (await other.quotes.list()).map((q) => q.doc.projectName).sort();
    expect(names).toEqual(Array.from({ length: count }, (_, i) => `Quote ${i}`).sort());
  }, 120_000);
});
