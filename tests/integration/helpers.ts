import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { type DocHandle, type PeerId, Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { afterAll } from "vitest";
import { asOrganizationId, asUserId, createQuote, type Quote } from "../../src/docs/index.js";
import type { RelayOptions } from "../../src/relay/config.js";
import { createRelay, type Relay } from "../../src/relay/index.js";
import { createTestDatabase } from "../store/postgres-test-database.js";

export function tempDir(prefix = "oms-test-"): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const TEST_SECRET = "test-secret-test-secret-test-secret-0123456789";

/**
 * With `OMS_TEST_POSTGRES=1` (vitest.postgres.config.ts) every data folder's relay keeps its data
 * in a fresh PostgreSQL database of its own instead of SQLite: a restart in the same folder finds
 * the same database. They are dropped after the file's tests.
 */
const postgresByDir = new Map<string, Promise<{ url: string; drop(): Promise<void> }>>();
if (process.env.OMS_TEST_POSTGRES === "1") {
  afterAll(async () => {
    for (const database of postgresByDir.values()) await (await database).drop();
    postgresByDir.clear();
  });
}

async function databaseFor(dataDir: string): Promise<string | undefined> {
  if (process.env.OMS_TEST_POSTGRES !== "1") return undefined;
  let database = postgresByDir.get(dataDir);
  if (!database) {
    database = createTestDatabase("oms_relay");
    postgresByDir.set(dataDir, database);
  }
  return (await database).url;
}

export async function startRelay(dataDir: string, options: RelayOptions = {}): Promise<Relay> {
  const database = await databaseFor(dataDir);
  return createRelay({
    port: 0,
    dataDir,
    secret: TEST_SECRET,
    logLevel: process.env.OMS_TEST_LOG ?? "silent",
    ...(database ? { database } : {}),
    ...options,
  });
}

/** A stock automerge-repo client: Repo + WebSocketClientAdapter, nothing of oms-sync. */
export function stockClient(
  relay: Relay,
  token: string,
): { repo: Repo; close: () => Promise<void> } {
  const adapter = new WebSocketClientAdapter(
    `${relay.url}/?token=${encodeURIComponent(token)}`,
    200,
  );
  const repo = new Repo({ network: [adapter] });
  return {
    repo,
    close: async () => {
      await repo.shutdown();
    },
  };
}

export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The relay's last reported heads for a document, as the client sees them. */
export function relayHeads(
  repo: Repo,
  handle: DocHandle<unknown>,
  relayPeerId: string,
): string[] | undefined {
  const storageId = repo.getStorageIdOfPeer(relayPeerId as PeerId);
  return storageId ? handle.getSyncInfo(storageId)?.lastHeads : undefined;
}

/** Resolves once the relay reports it stores the handle's current heads. */
export function waitStored(
  repo: Repo,
  handle: DocHandle<unknown>,
  relayPeerId: string,
): Promise<true> {
  return waitFor(() => {
    const theirs = relayHeads(repo, handle, relayPeerId);
    const mine = handle.heads();
    return !!theirs && mine.every((h) => theirs.includes(h)) && true;
  }, "the relay to store the document");
}

/** The relay's own copy of a document (it must be loaded). */
export function relayDoc<T>(relay: Relay, documentId: string): T {
  const handle = relay.repo.handles[documentId as never];
  if (!handle?.isReady()) throw new Error(`the relay has not loaded ${documentId}`);
  return handle.doc() as T;
}

/** A relay with alice of acme connected through a stock client and one quote of hers stored. */
export interface AliceWithQuote {
  relay: Relay;
  alice: { repo: Repo; close: () => Promise<void> };
  quote: DocHandle<Quote>;
  token: (sub: string, roles?: string[]) => Promise<string>;
  close: () => Promise<void>;
}

export async function relayWithAliceQuote(): Promise<AliceWithQuote> {
  const data = tempDir();
  const relay = await startRelay(data.dir);
  const token = (sub: string, roles = ["rep"]) =>
    relay.mintToken({ sub, org: "acme", roles, offline: true });
  const alice = stockClient(relay, await token("alice"));
  await waitFor(() => alice.repo.peers.length > 0, "alice to connect");
  const quote = alice.repo.create<Quote>(
    createQuote({
      owner: asUserId("alice"),
      organization: asOrganizationId("acme"),
      currency: "USD",
    }),
  );
  await waitStored(alice.repo, quote, relay.peerId);
  return {
    relay,
    alice,
    quote,
    token,
    close: async () => {
      await alice.close();
      await relay.close();
      data.remove();
    },
  };
}

/** tests/integration/client-process.ts in a child process: its exit signal and output lines. */
export function spawnClientProcess(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; exited: Promise<NodeJS.Signals | null>; lines: Interface } {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "tests/integration/client-process.ts", ...args],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...env } },
  );
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on("exit", (_c, s) => r(s)));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  return { child, exited, lines };
}
