import * as A from "@automerge/automerge";
import { type DocHandle, type DocumentId, Repo } from "@automerge/automerge-repo";
import type { StorageAdapterInterface } from "@automerge/automerge-repo/slim";
import { decodeHeads } from "@automerge/automerge-repo/slim";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteStorageAdapter } from "../../src/adapters/storage-sqlite.js";
import { headsHash } from "../../src/docs/heads-digest.js";
import { DocumentFollower } from "../../src/relay/cluster/document-follower.js";
import type { InlineChunk } from "../../src/relay/cluster/notices.js";
import { NotifyingStorage, type StoredChunk } from "../../src/relay/cluster/notifying-storage.js";
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
  /** Documents of the chunks this node committed. */
  stored: string[];
  /** The chunks this node committed, as its notices would carry them. */
  committed: StoredChunk[];
  /** Chunk writes and range reads that reached the database, by document. */
  writes: (documentId: string) => number;
  reads: (documentId: string) => number;
  storage: NotifyingStorage;
}

/** Counts what reaches the store (the rows a node writes, the reads it makes). */
function counting(inner: StorageAdapterInterface) {
  const writes = new Map<string, number>();
  const reads = new Map<string, number>();
  const bump = (m: Map<string, number>, id: string) => m.set(id, (m.get(id) ?? 0) + 1);
  const adapter: StorageAdapterInterface = {
    load: (key) => inner.load(key),
    save: async (key, data) => {
      if (key[1] === "snapshot" || key[1] === "incremental") bump(writes, key[0] as string);
      await inner.save(key, data);
    },
    remove: (key) => inner.remove(key),
    loadRange: async (prefix) => {
      bump(reads, prefix[0] as string);
      return inner.loadRange(prefix);
    },
    removeRange: (prefix) => inner.removeRange(prefix),
  };
  return {
    adapter,
    writes: (id: string) => writes.get(id) ?? 0,
    reads: (id: string) => reads.get(id) ?? 0,
  };
}

/**
 * A node on `file`. `listsKeys`: its re-check lists stored chunk keys and reads only documents
 * with chunks it does not hold, told of what it stores and loads as the relay's Cluster tells it.
 */
function node(file: string, listsKeys = false): Node {
  const db = openDatabase(file);
  const stored: string[] = [];
  const committed: StoredChunk[] = [];
  const sqlite = new SqliteStorageAdapter(db);
  const chunks = counting(sqlite);
  const repoRef: { repo?: Repo; follower?: DocumentFollower } = {};
  const storage = new NotifyingStorage(chunks.adapter, {
    onStored: (chunk) => {
      stored.push(chunk.documentId);
      committed.push(chunk);
      if (listsKeys)
        repoRef.follower?.holds(chunk.documentId, [[chunk.documentId, chunk.kind, chunk.name]]);
    },
    onLoaded: (keys) => {
      for (const key of keys) if (listsKeys && key[0]) repoRef.follower?.holds(key[0], [key]);
    },
    headsOf: (id) => {
      const handle = repoRef.repo?.handles[id as DocumentId];
      return handle?.isReady() ? decodeHeads(handle.heads()) : undefined;
    },
  });
  const repo = new Repo({ storage, network: [], saveDebounceRate: 5 });
  repoRef.repo = repo;
  const follower = new DocumentFollower({
    repo,
    storage: chunks.adapter,
    log,
    alreadyStored: (id, hashes) => storage.alreadyStored(id, hashes),
    ...(listsKeys ? { storedKeys: (ids: string[]) => sqlite.contentKeys(ids) } : {}),
  });
  repoRef.follower = follower;
  cleanups.push(async () => {
    await repo.shutdown();
    db.close();
  });
  return {
    repo,
    follower,
    stored,
    committed,
    writes: chunks.writes,
    reads: chunks.reads,
    storage,
  };
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

const inline = (chunks: StoredChunk[]): InlineChunk[] =>
  chunks.map((c) => ({ kind: c.kind, name: c.name, data: Buffer.from(c.data).toString("base64") }));
const hashOf = (handle: DocHandle<unknown>) => headsHash(decodeHeads(handle.heads()));

describe("what a node stores and reads when another node's change reaches it", () => {
  async function pair() {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const file = `${dir}/relay.db`;
    const a = node(file);
    const b = node(file);
    const onA = a.repo.create<Counter>({ items: {} });
    // Large enough that a save is an incremental chunk, not a compaction of a tiny document.
    onA.change((d) => {
      for (let i = 0; i < 200; i++) d.items[`seed${i}`] = i;
    });
    await a.repo.flush();
    const onB = await b.repo.find<Counter>(onA.url);
    return { file, a, b, onA, onB };
  }

  it("does not store again the changes it applied from another node, and stores its own", async () => {
    const { file, a, b, onA, onB } = await pair();
    for (let i = 0; i < 30; i++) {
      onA.change((d) => {
        d.items[`a${i}`] = i;
      });
      await a.repo.flush();
      await b.follower.catchUp(onB.documentId);
      await b.repo.flush();
    }
    expect(onB.doc().items.a29).toBe(29);
    expect(a.writes(onA.documentId)).toBeGreaterThanOrEqual(30);
    // Every one of B's saves (incremental chunks and compactions) held only A's stored changes.
    expect(b.writes(onB.documentId)).toBe(0);
    // B has nothing of its own to store (its sync messages need no flush); A wrote all of it.
    const headsOf = (h: DocHandle<unknown>) => decodeHeads(h.heads());
    expect(b.storage.storedElsewhere(onB.documentId, headsOf(onB))).toBe(true);
    expect(a.storage.storedElsewhere(onA.documentId, headsOf(onA))).toBe(false);

    // A change made on B is B's to store, and the store then holds both nodes' changes.
    onB.change((d) => {
      d.items.b = 1;
    });
    expect(b.storage.storedElsewhere(onB.documentId, headsOf(onB))).toBe(false);
    await b.repo.flush();
    expect(b.writes(onB.documentId)).toBe(1);
    expect(b.storage.storedElsewhere(onB.documentId, headsOf(onB))).toBe(false);
    await a.follower.catchUp(onA.documentId);
    expect(onA.doc().items.b).toBe(1);
    const c = node(file);
    const onC = await c.repo.find<Counter>(onA.url);
    expect(Object.keys(onC.doc().items)).toHaveLength(231);
  });

  it("applies the chunks a notice carries without reading the store", async () => {
    const { a, b, onA, onB } = await pair();
    const readsBefore = b.reads(onB.documentId);
    for (let i = 0; i < 10; i++) {
      a.committed.length = 0;
      onA.change((d) => {
        d.items[`a${i}`] = i;
      });
      await a.repo.flush();
      expect(a.committed.length).toBeGreaterThan(0);
      await b.follower.notice(onA.documentId, await hashOf(onA), inline(a.committed));
      expect(onB.doc().items[`a${i}`]).toBe(i);
    }
    expect(b.reads(onB.documentId)).toBe(readsBefore);
    await b.repo.flush();
    expect(b.writes(onB.documentId)).toBe(0);
  });

  it("reads the store when a notice's chunks are corrupt, cut short or lost", async () => {
    const { a, b, onA, onB } = await pair();
    a.committed.length = 0;
    onA.change((d) => {
      d.items.corrupt = 1;
    });
    await a.repo.flush();
    const chunks = inline(a.committed).map((c) => {
      const bytes = Buffer.from(c.data, "base64");
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
      return { ...c, data: bytes.toString("base64") };
    });
    const reads = b.reads(onB.documentId);
    await b.follower.notice(onA.documentId, await hashOf(onA), chunks);
    expect(onB.doc().items.corrupt).toBe(1);
    expect(b.reads(onB.documentId)).toBeGreaterThan(reads);

    // Cut short: a prefix of the bytes, under the chunk's name.
    a.committed.length = 0;
    onA.change((d) => {
      d.items.short = 1;
    });
    await a.repo.flush();
    const short = inline(a.committed).map((c) => ({ ...c, data: c.data.slice(0, 8) }));
    await b.follower.notice(onA.documentId, await hashOf(onA), short);
    expect(onB.doc().items.short).toBe(1);

    // Lost: no notice at all; the re-check finds the change.
    onA.change((d) => {
      d.items.lost = 1;
    });
    await a.repo.flush();
    expect(onB.doc().items.lost).toBeUndefined();
    await b.follower.recheck();
    expect(onB.doc().items.lost).toBe(1);
    await b.repo.flush();
    expect(b.writes(onB.documentId)).toBe(0);
  });

  it("does nothing for a notice of a document it does not hold", async () => {
    const { a, b, onA } = await pair();
    const other = a.repo.create<Counter>({ items: { x: 1 } });
    a.committed.length = 0;
    await a.repo.flush();
    await b.follower.notice(other.documentId, await hashOf(other), inline(a.committed));
    expect(b.repo.handles[other.documentId]).toBeUndefined();
    expect(b.reads(other.documentId)).toBe(0);
    expect(b.writes(other.documentId)).toBe(0);
    expect(onA.documentId).not.toBe(other.documentId);
  });

  it("re-checks by listing keys: reads only documents with chunks it does not hold", async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const file = `${dir}/relay.db`;
    const a = node(file, true);
    const b = node(file, true);
    const shared = a.repo.create<Counter>({ items: {} });
    const quiet = a.repo.create<Counter>({ items: { q: 1 } });
    await a.repo.flush();
    const onB = await b.repo.find<Counter>(shared.url);
    const quietOnB = await b.repo.find<Counter>(quiet.url);

    // Nothing stored since B loaded them: a re-check reads no chunk of either.
    const reads = () => b.reads(shared.documentId) + b.reads(quiet.documentId);
    const before = reads();
    expect(await b.follower.recheck()).toBe(0);
    expect(reads()).toBe(before);

    // B's own change, stored by B: still nothing to read.
    onB.change((d) => {
      d.items.b = 1;
    });
    await b.repo.flush();
    expect(await b.follower.recheck()).toBe(0);
    expect(reads()).toBe(before);

    // A stores a change and its notice is lost: the re-check reads that document alone.
    const quietReads = b.reads(quiet.documentId);
    const sharedReads = b.reads(shared.documentId);
    shared.change((d) => {
      d.items.a = 1;
    });
    await a.repo.flush();
    expect(await b.follower.recheck()).toBe(1);
    expect(onB.doc().items).toEqual({ a: 1, b: 1 });
    expect(b.reads(quiet.documentId)).toBe(quietReads);
    expect(b.reads(shared.documentId)).toBeGreaterThan(sharedReads);
    const afterCatchUp = reads();
    expect(await b.follower.recheck()).toBe(0);
    expect(reads()).toBe(afterCatchUp);
    expect(quietOnB.doc().items).toEqual({ q: 1 });
  });
});
