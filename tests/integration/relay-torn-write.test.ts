import { closeSync, openSync, statSync, truncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import * as A from "@automerge/automerge";
import { decodeHeads, Repo } from "@automerge/automerge-repo";
import { afterEach, describe, expect, it } from "vitest";
import { ClientSocketAdapter } from "../../src/adapters/network-ws-client.js";
import { asOrganizationId, asUserId, createQuote, type Quote } from "../../src/docs/index.js";
import { mintToken } from "../../src/relay/auth.js";
import { TEST_SECRET, tempDir, waitFor, waitStored } from "./helpers.js";
import { type RelayProcess, spawnRelay } from "./relay-process.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const secret = new TextEncoder().encode(TEST_SECRET);

async function repoFor(
  relay: RelayProcess,
): Promise<{ repo: Repo; relayPeer: string; adapter: ClientSocketAdapter }> {
  const token = await mintToken(secret, {
    sub: "alice",
    org: "acme",
    roles: ["rep"],
    offline: true,
  });
  const adapter = new ClientSocketAdapter({ url: () => `${relay.url}/?token=${token}` });
  const repo = new Repo({ network: [adapter] });
  cleanups.push(() => adapter.close());
  await waitFor(() => repo.peers.length > 0, "the client to connect");
  return { repo, relayPeer: repo.peers[0] as string, adapter };
}

/** Damages the last frame of the write-ahead log the way a torn write would. */
function tear(dataDir: string, how: "truncate" | "corrupt"): number {
  const wal = join(dataDir, "relay.db-wal");
  const size = statSync(wal).size;
  if (how === "truncate") {
    truncateSync(wal, size - 1_000);
  } else {
    const fd = openSync(wal, "r+");
    writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, size - 500);
    closeSync(fd);
  }
  return size;
}

describe("a torn last write", () => {
  it.each(["truncate", "corrupt"] as const)(
    "(%s) is reported at start, and everything committed before is served",
    async (how) => {
      const data = tempDir();
      cleanups.push(data.remove);
      let relay = await spawnRelay(data.dir);
      cleanups.push(() => void relay.child.kill("SIGKILL"));
      const port = relay.port;
      const first = await repoFor(relay);
      const quote = first.repo.create<Quote>(
        createQuote({
          owner: asUserId("alice"),
          organization: asOrganizationId("acme"),
          currency: "USD",
          projectName: "committed before",
        }),
      );
      await waitStored(first.repo, quote, first.relayPeer);
      const committed = decodeHeads(quote.heads());
      // The last write: torn by the "power cut".
      quote.change((q) => {
        q.notes = "the last write";
      });
      await waitStored(first.repo, quote, first.relayPeer);
      relay.child.kill("SIGKILL");
      await relay.exited;
      const walBytes = tear(data.dir, how);
      expect(walBytes).toBeGreaterThan(0);

      relay = await spawnRelay(data.dir, [], port);
      const found = relay
        .output()
        .split("\n")
        .filter((l) => l.includes("torn write"))
        .map((l) => JSON.parse(l) as { msg: string; recovery: { discardedFrames: number } });
      expect(found).toHaveLength(1);
      expect(found[0]?.msg).toMatch(/everything committed before is served/);
      expect(found[0]?.recovery.discardedFrames).toBeGreaterThan(0);
      expect(await (await fetch(`${relay.httpUrl}/healthz`)).json()).toMatchObject({
        status: "ok",
        database: "ok",
      });

      const second = await repoFor(relay);
      const served = await second.repo.find<Quote>(quote.url);
      expect(served.doc().projectName).toBe("committed before");
      expect(A.hasHeads(served.doc() as A.Doc<Quote>, committed)).toBe(true);
      // The writer still holds the last write: reconnected, it sends it again.
      first.adapter.open();
      await waitStored(first.repo, quote, first.relayPeer);
      await waitFor(() => served.doc().notes === "the last write", "the last write to come back");
    },
    60_000,
  );
});
