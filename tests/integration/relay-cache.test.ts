import { Repo } from "@automerge/automerge-repo";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteStorageAdapter } from "../../src/adapters/storage-sqlite.js";
import { createClient } from "../../src/client/index.js";
import { addLineItem } from "../../src/docs/index.js";
import { openDatabase } from "../../src/relay/database.js";
import { DocumentCache } from "../../src/relay/document-cache.js";
import { startRelay, tempDir, waitFor } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const limits = { maxLoadedDocuments: 4, documentIdleMs: 50, cacheSweepMs: 20 };

describe("the relay's bounded document cache", () => {
  it("unloads idle documents beyond maxLoadedDocuments and loses nothing, across edits and a restart", async () => {
    const data = tempDir();
    cleanups.push(data.remove);
    let relay = await startRelay(data.dir, { limits });
    const port = relay.port;
    cleanups.push(() => relay.close());
    const token = await relay.mintToken({
      sub: "alice",
      org: "acme",
      roles: ["rep"],
      offline: true,
    });
    const alice = await createClient({ url: relay.url, token, storage: "memory" });
    cleanups.push(() => alice.close());
    const quotes = [];
    for (let i = 0; i < 20; i++)
      quotes.push(await alice.quotes.create({ currency: "USD", projectName: `Q${i}` }));
    await alice.sync.now();
    // Edit every quote a few times while the relay keeps unloading them.
    for (let round = 0; round < 3; round++) {
      for (const [i, q] of quotes.entries())
        q.change((d) =>
          addLineItem(d, { productCode: `P${round}-${i}`, quantity: 1, unitPrice: 100 }),
        );
      await alice.sync.now();
      await new Promise((r) => setTimeout(r, 150));
    }
    await waitFor(
      () => Object.keys(relay.repo.handles).length <= limits.maxLoadedDocuments,
      "the relay to unload idle documents",
    );
    const metrics = await (await fetch(`${relay.httpUrl}/metrics`)).text();
    expect(Number(/oms_relay_documents_unloaded_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(
      20,
    );

    // Another device gets every edit, from a relay that has to load each quote again.
    const other = await createClient({ url: relay.url, token, storage: "memory" });
    cleanups.push(() => other.close());
    await other.sync.now();
    const lines = (await other.quotes.list()).map((q) => Object.keys(q.doc.lineItems).length);
    expect(lines).toEqual(quotes.map(() => 3));

    await relay.close();
    relay = await startRelay(data.dir, { port, limits });
    const third = await createClient({ url: relay.url, token, storage: "memory" });
    cleanups.push(() => third.close());
    await third.sync.now();
    expect((await third.quotes.list()).map((q) => Object.keys(q.doc.lineItems).length)).toEqual(
      quotes.map(() => 3),
    );
  });

  // automerge-repo 2.5.6's removeFromCache resets the handle to an empty document and its own
  // debounced save then writes that over the stored one.
  it("unloads without the empty-document overwrite of Repo.removeFromCache", async () => {
    const db = openDatabase(":memory:");
    const repo = new Repo({ storage: new SqliteStorageAdapter(db) });
    const handles = Array.from({ length: 10 }, (_, i) => repo.create({ n: i }));
    await repo.flush();
    const cache = new DocumentCache({
      repo,
      capacity: 2,
      idleMs: 0,
      log: pino({ level: "silent" }),
    });
    await cache.sweep();
    expect(Object.keys(repo.handles)).toHaveLength(2);
    expect(cache.evicted).toBe(8);
    // Past automerge-repo's 100 ms save throttle.
    await new Promise((r) => setTimeout(r, 250));
    for (const [i, h] of handles.entries()) {
      const again = await repo.find<{ n: number }>(h.url);
      expect(again.doc()).toEqual({ n: i });
    }
    db.close();
  });
});
