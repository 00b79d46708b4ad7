import * as A from "@automerge/automerge";
import { type DocHandle, type DocumentId, Repo } from "@automerge/automerge-repo";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteStorageAdapter } from "../../src/adapters/storage-sqlite.js";
import { DocumentFollower } from "../../src/relay/cluster/document-follower.js";
import { NotifyingStorage } from "../../src/relay/cluster/notifying-storage.js";
import { openDatabase } from "../../src/relay/database.js";
import { tempDir, waitFor } from "../integration/helpers.js";

// Two Repos on two connections to one database stand for two relay nodes on one shared store:
// neither notices what the other writes, except through the follower.
const log = pino({ level: "silent" });
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Node {
  repo: Repo;
  follower: DocumentFollower;
  stored: string[];
}

function node(file: string): Node {
  const db = openDatabase(file);
  const stored: string[] = [];
  const storage = new NotifyingStorage(new SqliteStorageAdapter(db), {
    onStored: (chunk) => stored.push(chunk.documentId),
  });
  const repo = new Repo({ storage, network: [], saveDebounceRate: 5 });
  const follower = new DocumentFollower({ repo, storage, log });
  cleanups.push(async () => {
    await repo.shutdown();
    db.close();
  });
  return { repo, follower, stored };
}

type Counter = { items: Record<string, number> };

describe("a document followed across nodes through the shared store", () => {
  it("applies chunks another node stored, merges concurrent changes, and compacts without loss", async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const file = `${dir}/relay.db`;
    const a = node(file);
    const b = node(file);

    const onA = a.repo.create<Counter>({ items: {} });
    await a.repo.flush();
    const onB: DocHandle<Counter> = await b.repo.find<Counter>(onA.url);
    expect(onB.heads()).toEqual(onA.heads());

    // A change on A reaches B through the store when B is told (or re-checks).
    onA.change((d) => {
      d.items.a0 = 1;
    });
    await a.repo.flush();
    expect(a.stored).toContain(onA.documentId);
    await b.follower.catchUp(onB.documentId);
    expect(onB.doc().items.a0).toBe(1);
    // Told again with nothing new: no change, no error.
    await b.follower.catchUp(onB.documentId);

    // Concurrent changes on both nodes, many of them, so that both compact: nothing is lost.
    for (let i = 1; i <= 60; i++) {
      onA.change((d) => {
        d.items[`a${i}`] = i;
      });
      onB.change((d) => {
        d.items[`b${i}`] = i;
      });
      if (i % 5 === 0) {
        await Promise.all([a.repo.flush(), b.repo.flush()]);
        // Every other round a node misses the notice: the later catch-up (re-check) covers it.
        if (i % 10 === 0) await b.follower.catchUp(onB.documentId);
        else await Promise.all([a.follower.recheck(), b.follower.recheck()]);
      }
    }
    await Promise.all([a.repo.flush(), b.repo.flush()]);
    await Promise.all([a.follower.recheck(), b.follower.recheck()]);
    await waitFor(
      () => JSON.stringify([...onA.heads()].sort()) === JSON.stringify([...onB.heads()].sort()),
      "both nodes to hold the same heads",
    );
    expect(Object.keys(onA.doc().items)).toHaveLength(121);
    expect(onB.doc().items).toEqual(onA.doc().items);

    // A third node loading fresh from the store (after both compacted) has every change.
    const c = node(file);
    const onC = await c.repo.find<Counter>(onA.url);
    expect(Object.keys(onC.doc().items)).toHaveLength(121);
    const db = openDatabase(file);
    const chunks = db
      .prepare("SELECT key FROM chunks WHERE key LIKE ?")
      .all(`${onA.documentId}%`) as { key: string }[];
    db.close();
    expect(chunks.some((r) => r.key.includes("snapshot"))).toBe(true);

    // Never one actor id on two nodes: every (actor, seq) names one change.
    const changes = A.getAllChanges(onC.doc()).map((bytes) => A.decodeChange(bytes));
    const ids = new Set(changes.map((ch) => `${ch.actor}:${ch.seq}`));
    expect(ids.size).toBe(changes.length);
    const actors = new Set(changes.map((ch) => ch.actor));
    expect(actors.size).toBeGreaterThanOrEqual(2);
    expect(onC.documentId as DocumentId).toBe(onA.documentId);
  });
});
