import "fake-indexeddb/auto";
import { readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DeviceIndexedDbStorageAdapter } from "../../src/adapters/storage-indexeddb.js";
import { MemoryStorageAdapter } from "../../src/adapters/storage-memory.js";
import { createClient, type OmsClient, type StorageOption } from "../../src/client/index.js";
import type { Relay } from "../../src/relay/index.js";
import { startRelay, tempDir } from "./helpers.js";

// Two people on one device (a shared office PC, one browser profile): neither ever reads the
// other's documents or session, offline or online.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Setup {
  relay: Relay;
  port: number;
  dir: string;
  tokens: Record<"alice" | "bob" | "olga", string>;
}

async function setup(): Promise<Setup> {
  const data = tempDir();
  cleanups.push(data.remove);
  const relay = await startRelay(data.dir);
  cleanups.push(() => relay.close());
  const mint = (sub: string, offline: boolean) =>
    relay.mintToken({ sub, org: "acme", roles: ["rep"], offline, ttl: "1h" });
  return {
    relay,
    port: relay.port,
    dir: data.dir,
    tokens: {
      alice: await mint("alice", true),
      bob: await mint("bob", true),
      olga: await mint("olga", false),
    },
  };
}

async function open(s: Setup, token: string, storage: StorageOption): Promise<OmsClient> {
  const c = await createClient({
    url: s.relay.url,
    token,
    storage,
    schedule: { backoffInitialMs: 50, backoffMaxMs: 200, connectTimeoutMs: 2_000 },
  });
  cleanups.push(() => c.close());
  return c;
}

async function restart(s: Setup): Promise<void> {
  s.relay = await startRelay(s.dir, { port: s.port });
  cleanups.push(() => s.relay.close());
}

/** Alice writes a quote and syncs; Bob then starts on the same storage, online and offline. */
async function neitherSeesTheOther(storage: () => StorageOption): Promise<void> {
  const s = await setup();
  const alice = await open(s, s.tokens.alice, storage());
  const secret = await alice.quotes.create({ currency: "USD", projectName: "Alice's secret" });
  await alice.sync.now();
  await alice.close();

  // Online: Bob's start does not open Alice's quote from the device; the relay refuses it.
  const bob = await open(s, s.tokens.bob, storage());
  expect(bob.user.userId).toBe("bob");
  await bob.sync.now();
  expect(await bob.quotes.list()).toEqual([]);
  await expect(bob.quotes.open(secret.id)).rejects.toMatchObject({ code: "NOT_FOUND" });
  const own = await bob.quotes.create({ currency: "USD", projectName: "Bob's" });
  await bob.sync.now();
  await bob.close();
  await s.relay.close();

  // Offline: each gets their own session and documents, never the other's.
  const bobOffline = await open(s, s.tokens.bob, storage());
  expect(bobOffline.user.userId).toBe("bob");
  expect((await bobOffline.quotes.list()).map((q) => q.doc.projectName)).toEqual(["Bob's"]);
  await expect(bobOffline.quotes.open(secret.id)).rejects.toMatchObject({ code: "OFFLINE" });
  await bobOffline.close();
  const aliceOffline = await open(s, s.tokens.alice, storage());
  expect(aliceOffline.user.userId).toBe("alice");
  expect((await aliceOffline.quotes.list()).map((q) => q.doc.projectName)).toEqual([
    "Alice's secret",
  ]);
  await expect(aliceOffline.quotes.open(own.id)).rejects.toMatchObject({ code: "OFFLINE" });
}

describe("two users on one device", () => {
  it("keep apart in one folder: a subfolder each", async () => {
    const device = tempDir();
    cleanups.push(device.remove);
    await neitherSeesTheOther(() => ({ folder: device.dir }));
    // Besides the partitions, only the folder storage's temporary folder.
    expect(readdirSync(device.dir).filter((name) => name !== ".tmp")).toEqual(["oms-partition"]);
    expect(readdirSync(join(device.dir, "oms-partition", "acme")).sort()).toEqual(["alice", "bob"]);
  });

  it("keep apart in one adapter the caller passes: a key prefix each", async () => {
    const shared = new MemoryStorageAdapter();
    await neitherSeesTheOther(() => shared);
    const owners = new Set(shared.keys().map((k) => k.slice(0, 3).join("/")));
    expect([...owners].sort()).toEqual(["oms-partition/acme/alice", "oms-partition/acme/bob"]);
  });

  it("keep apart in IndexedDB: a database each", async () => {
    await neitherSeesTheOther(() => "indexeddb");
    const names = (await indexedDB.databases()).map((d) => d.name);
    expect(names).toContain("oms-sync:acme:alice");
    expect(names).toContain("oms-sync:acme:bob");
    expect(names).not.toContain("oms-sync");
  });

  it("a first offline start finds no session of another user, even one planted in its partition", async () => {
    const s = await setup();
    const shared = new MemoryStorageAdapter();
    await (await open(s, s.tokens.alice, shared)).close();
    await s.relay.close();
    await expect(open(s, s.tokens.bob, shared)).rejects.toThrow(
      /holds no session of bob \(acme\): the first start of a user on a device needs a connection/,
    );
    // Alice's session record copied into Bob's partition is not taken for Bob's.
    for (const key of shared.keys()) {
      if (key[2] !== "alice") continue;
      const data = await shared.load(key);
      if (data) await shared.save(["oms-partition", "acme", "bob", ...key.slice(3)], data);
    }
    await expect(open(s, s.tokens.bob, shared)).rejects.toMatchObject({ code: "OFFLINE" });
  });

  it("tells an online-only user with no relay that the account has no offline access", async () => {
    const s = await setup();
    await s.relay.close();
    await expect(open(s, s.tokens.olga, "memory")).rejects.toThrow(
      /this account has no offline access/,
    );
  });
});

describe("data kept before partitions", () => {
  it("moves from a folder's top level to the owner its session names, on the owner's start", async () => {
    const s = await setup();
    const device = tempDir();
    cleanups.push(device.remove);
    const alice = await open(s, s.tokens.alice, { folder: device.dir });
    const quote = await alice.quotes.create({ currency: "USD", projectName: "Before" });
    await alice.sync.now();
    await alice.close();
    await s.relay.close();
    // The old layout: everything at the folder's top level.
    const own = join(device.dir, "oms-partition", "acme", "alice");
    for (const name of readdirSync(own)) renameSync(join(own, name), join(device.dir, name));

    await expect(open(s, s.tokens.bob, { folder: device.dir })).rejects.toMatchObject({
      code: "OFFLINE",
    });
    const again = await open(s, s.tokens.alice, { folder: device.dir });
    expect((await again.quotes.open(quote.id)).doc().projectName).toBe("Before");
    expect(readdirSync(device.dir).filter((name) => name !== ".tmp")).toEqual(["oms-partition"]);
  });

  it("moves the old shared IndexedDB database to its owner's and deletes it", async () => {
    const s = await setup();
    const alice = await open(s, s.tokens.alice, { indexedDb: "legacy" });
    const quote = await alice.quotes.create({ currency: "USD", projectName: "Before" });
    await alice.sync.now();
    await alice.close();
    await s.relay.close();
    const from = new DeviceIndexedDbStorageAdapter("legacy:acme:alice");
    const to = new DeviceIndexedDbStorageAdapter("legacy");
    for (const { key, data } of await from.loadRange([])) if (data) await to.save(key, data);
    await from.removeRange([]);
    await from.close();
    await to.close();

    await expect(open(s, s.tokens.bob, { indexedDb: "legacy" })).rejects.toMatchObject({
      code: "OFFLINE",
    });
    const again = await open(s, s.tokens.alice, { indexedDb: "legacy" });
    expect((await again.quotes.open(quote.id)).doc().projectName).toBe("Before");
    expect((await indexedDB.databases()).map((d) => d.name)).not.toContain("legacy");
    await restart(s);
  });
});
