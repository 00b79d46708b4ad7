import "fake-indexeddb/auto";
import type { DocumentId } from "@automerge/automerge-repo";
import { decodeJwt } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryStorageAdapter } from "../../src/adapters/storage-memory.js";
import {
  type ClientOptions,
  createClient,
  FeatureDisabledError,
  type OmsClient,
  type SyncStatus,
} from "../../src/client/index.js";
import { addLineItem } from "../../src/docs/index.js";
import { DAY_MS } from "../../src/policy/index.js";
import { mintToken } from "../../src/relay/auth.js";
import type { Relay } from "../../src/relay/index.js";
import { createManualClock } from "../../src/testing/index.js";
import { relayDoc, startRelay, TEST_SECRET, tempDir, waitFor } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function relay(port = 0, dir?: string): Promise<Relay> {
  const data = dir ? { dir, remove: () => {} } : tempDir();
  const r = await startRelay(data.dir, { port });
  cleanups.push(data.remove, () => r.close());
  return r;
}

async function client(
  r: Relay,
  sub: string,
  options: Partial<ClientOptions> & { offline?: boolean; roles?: string[] } = {},
): Promise<OmsClient> {
  const token = await r.mintToken({
    sub,
    org: "acme",
    roles: options.roles ?? ["rep"],
    offline: options.offline ?? true,
  });
  const c = await createClient({
    url: r.url,
    token,
    storage: "memory",
    schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
    ...options,
  });
  cleanups.push(() => c.close());
  return c;
}

describe("sync status", () => {
  it("goes connecting → syncing → complete, and complete means the relay stored every document", async () => {
    const r = await relay();
    const storage = new MemoryStorageAdapter();
    const setup = await client(r, "alice", { storage });
    await setup.sync.now();
    for (let i = 0; i < 25; i++) {
      const q = await setup.quotes.create({ currency: "USD", projectName: `Project ${i}` });
      q.change((d) => addLineItem(d, { productCode: "DH", quantity: i + 1, unitPrice: 100 }));
    }
    await setup.close();

    // A new client on the same device storage: 25 quotes to bring to complete.
    const c = await client(r, "alice", { storage });
    const seen: SyncStatus[] = [];
    let checkedAtComplete = false;
    c.sync.subscribe((s) => {
      seen.push(s);
      if (s.state === "complete" && !checkedAtComplete) {
        checkedAtComplete = true;
        // At the moment "complete" is reported, the relay holds every quote at the device's heads.
        for (const listed of listedNow) {
          const relayCopy = r.repo.handles[listed as DocumentId];
          expect(relayCopy?.isReady()).toBe(true);
        }
      }
    });
    const listedNow = (await c.quotes.list()).map((q) => q.id as string);
    expect(listedNow).toHaveLength(25);
    await c.sync.now();
    const states = seen.map((s) => s.state).filter((s, i, all) => s !== all[i - 1]);
    expect(states.every((s) => ["connecting", "syncing", "complete"].includes(s))).toBe(true);
    expect(states).toContain("syncing");
    expect(states.at(-1)).toBe("complete");
    expect(checkedAtComplete).toBe(true);
    const runs = seen.filter((s) => s.state === "syncing").map((s) => s.progress);
    const last = seen.at(-1) as SyncStatus;
    expect(last.progress.documentsTotal).toBe(29); // 25 quotes + workspace, ledger, inbox, organization
    expect(last.progress.documentsDone).toBe(29);
    expect(last.progress.bytesReceived).toBeGreaterThan(0);
    for (let i = 1; i < runs.length; i++) {
      if (runs[i]?.documentsTotal === runs[i - 1]?.documentsTotal) {
        expect(runs[i]?.documentsDone).toBeGreaterThanOrEqual(runs[i - 1]?.documentsDone as number);
      }
    }
    expect(last.lastCompleteSync).not.toBeNull();
  });
});

describe("the end of a run", () => {
  it("starts no second run after sync.now() resolves, and publishes nothing after close()", async () => {
    const r = await relay();
    const c = await client(r, "alice");
    const after: SyncStatus[] = [];
    let resolved = false;
    c.sync.subscribe((s) => {
      if (resolved) after.push(s);
    });
    // Called at once, while the client still connects: the connection's own run is this one.
    await c.sync.now();
    resolved = true;
    await new Promise((done) => setTimeout(done, 1_000));
    expect(after).toEqual([]);
    // A later call runs once more, and the state stays complete after it.
    await c.sync.now();
    await new Promise((done) => setTimeout(done, 500));
    expect(after.map((s) => s.state).at(-1)).toBe("complete");
    expect(c.sync.status.state).toBe("complete");

    const afterClose: SyncStatus[] = [];
    c.sync.subscribe((s) => afterClose.push(s));
    const run = c.sync.now().catch(() => undefined);
    await c.close();
    const atClose = afterClose.length;
    await run;
    await new Promise((done) => setTimeout(done, 500));
    expect(afterClose).toHaveLength(atClose);
    expect(afterClose.at(-1)?.state).toBe("offline");
  });
});

describe("background sync", () => {
  it("runs on the schedule for offline users, not for online-only users", async () => {
    const r = await relay();
    const clock = createManualClock(Date.now());
    const sessions = { alice: 0, bob: 0 };
    const counting =
      (who: "alice" | "bob"): typeof fetch =>
      async (input, init) => {
        if (String(input).endsWith("/v1/session")) sessions[who]++;
        return fetch(input, init);
      };
    const alice = await client(r, "alice", { clock, fetch: counting("alice") });
    const bob = await client(r, "bob", { clock, fetch: counting("bob"), offline: false });
    await waitFor(
      () => alice.sync.status.state === "complete" && bob.sync.status.state === "complete",
      "first syncs",
    );
    const before = { ...sessions };
    clock.advance(180_000);
    await waitFor(
      () => sessions.alice > before.alice && alice.sync.status.state === "complete",
      "a background sync",
    );
    clock.advance(180_000);
    await waitFor(() => sessions.alice > before.alice + 1, "another background sync");
    expect(sessions.bob).toBe(before.bob);
  });
});

describe("device storage", () => {
  it("keeps documents and the last-sync record in IndexedDB across clients", async () => {
    const r = await relay();
    const first = await client(r, "alice", { storage: "indexeddb" });
    const quote = await first.quotes.create({ currency: "USD", projectName: "Kept" });
    await first.sync.now();
    const syncedAt = first.gate.state.lastSyncAt;
    expect(syncedAt).not.toBeNull();
    await first.close();
    await r.close();

    const again = await createClient({
      url: r.url,
      token: await mintToken(new TextEncoder().encode(TEST_SECRET), {
        sub: "alice",
        org: "acme",
        roles: ["rep"],
        offline: true,
      }),
      storage: "indexeddb",
    });
    cleanups.push(() => again.close());
    expect((await again.quotes.open(quote.id)).doc().projectName).toBe("Kept");
    expect(again.gate.state.lastSyncAt).toBe(syncedAt);
  });

  it("never writes a document outside My to the device", async () => {
    const r = await relay();
    const alice = await client(r, "alice");
    const quote = await alice.quotes.create({ currency: "USD", projectName: "Alice's" });
    await alice.sync.now();

    const storage = new MemoryStorageAdapter();
    const mona = await client(r, "mona", { roles: ["manager"], storage });
    await mona.sync.now();
    const opened = await mona.quotes.open(quote.id);
    expect(opened.doc().projectName).toBe("Alice's");
    opened.change((q) => {
      q.projectName = "Reviewed";
    });
    await waitFor(
      async () => (await alice.quotes.open(quote.id)).doc().projectName === "Reviewed",
      "alice to see it",
    );
    await mona.close();
    expect(storage.keys().some((k) => k[0] === quote.id)).toBe(false);
    expect(storage.keys().length).toBeGreaterThan(0);
  });

  it("keeps nothing on the device for online-only users, who get a clear error offline", async () => {
    const r = await relay();
    const storage = new MemoryStorageAdapter();
    const bob = await client(r, "bob", { offline: false, storage });
    const quote = await bob.quotes.create({ currency: "USD" });
    await bob.sync.now();
    expect(storage.keys()).toEqual([]);
    await r.close();
    await waitFor(() => bob.sync.status.state === "offline", "bob to notice");
    await expect(bob.quotes.open(quote.id)).rejects.toMatchObject({ code: "OFFLINE" });
  });
});

describe("the staleness gate", () => {
  it("warns on day 10, blocks on day 15 even when the clock goes back, and a sync lifts it", async () => {
    const r = await relay();
    const t0 = Date.now();
    const clock = createManualClock(t0);
    const c = await client(r, "alice", { clock });
    await c.sync.now();
    const levels: string[] = [];
    c.gate.subscribe((s) => levels.push(s.level));

    clock.set(t0 + 9 * DAY_MS);
    expect(c.gate.state).toMatchObject({ level: "ok", daysSinceSync: 9, daysLeft: 5 });
    clock.set(t0 + 10 * DAY_MS);
    expect(c.gate.state.level).toBe("warn");
    clock.set(t0 + 15 * DAY_MS);
    expect(c.gate.state.level).toBe("blocked");
    const error = await c.quotes.create({ currency: "USD" }).catch((e) => e);
    expect(error).toBeInstanceOf(FeatureDisabledError);
    expect(error.message).toMatch(
      /createQuote is disabled: the last complete sync was on .*15 days ago\. Connect and sync/,
    );

    clock.set(t0 + DAY_MS);
    expect(c.gate.state.level).toBe("blocked");
    expect(c.gate.isEnabled("submitOrder")).toBe(false);

    await c.sync.now();
    expect(c.gate.state.level).toBe("ok");
    expect(levels.at(-1)).toBe("ok");
    await expect(c.quotes.create({ currency: "USD" })).resolves.toBeDefined();
  });

  it("refuses a price change while blocked, but not other edits", async () => {
    const r = await relay();
    const t0 = Date.now();
    const clock = createManualClock(t0);
    const c = await client(r, "alice", { clock });
    await c.sync.now();
    const q = await c.quotes.create({ currency: "USD" });
    const line = q.change((d) =>
      addLineItem(d, { productCode: "DH", quantity: 1, unitPrice: 100 }),
    );
    clock.set(t0 + 15 * DAY_MS);
    expect(() =>
      q.change((d) => addLineItem(d, { productCode: "X", quantity: 1, unitPrice: 5 })),
    ).toThrow(FeatureDisabledError);
    q.change((d) => {
      d.projectName = "still editable";
    });
    expect(q.doc().projectName).toBe("still editable");
    expect(Object.keys(q.doc().lineItems)).toEqual([line]);
  });
});

describe("an expired token", () => {
  it("moves to error: auth, keeps local edits, and resumes with a fresh token", async () => {
    const first = await relay();
    const dir = tempDir();
    cleanups.push(dir.remove);
    const secret = new TextEncoder().encode(TEST_SECRET);
    const shortLived = await mintToken(secret, {
      sub: "alice",
      org: "acme",
      roles: ["rep"],
      offline: true,
      // Long enough for the first sync: the relay closes a socket when its token expires.
      ttl: 5,
    });
    const expiresAt = (decodeJwt(shortLived).exp ?? 0) * 1_000;
    let freshAvailable = false;
    const c = await createClient({
      url: first.url,
      token: shortLived,
      getToken: async () =>
        freshAvailable
          ? mintToken(secret, { sub: "alice", org: "acme", roles: ["rep"], offline: true })
          : shortLived,
      storage: { folder: dir.dir },
      schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
    });
    cleanups.push(() => c.close());
    await c.sync.now();
    await new Promise((res) => setTimeout(res, Math.max(0, expiresAt - Date.now()) + 500));
    // Drop the connection: the reconnect meets the expired token.
    const port = first.port;
    await first.close();
    const second = await relay(port);
    await waitFor(
      () => c.sync.status.state === "error" && c.sync.status.error?.reason === "auth",
      "error: auth",
    );
    const quote = await c.quotes.create({ currency: "USD", projectName: "written while refused" });
    freshAvailable = true;
    await c.sync.now();
    expect(c.sync.status.state).toBe("complete");
    expect(relayDoc<{ projectName: string }>(second, quote.id).projectName).toBe(
      "written while refused",
    );
  });
});
