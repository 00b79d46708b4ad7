import type { AutomergeUrl, PeerId } from "@automerge/automerge-repo";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { afterEach, describe, expect, it } from "vitest";
import {
  addLineItem,
  asOrganizationId,
  asUserId,
  createQuote,
  type Quote,
  sortedLineItems,
} from "../../src/docs/index.js";
import { mintToken } from "../../src/relay/auth.js";
import { TEST_SECRET, tempDir, waitFor } from "./helpers.js";
import { type RelayProcess, spawnRelay } from "./relay-process.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const secret = new TextEncoder().encode(TEST_SECRET);

function client(relay: RelayProcess, token: string): Repo {
  const repo = new Repo({
    network: [new WebSocketClientAdapter(`${relay.url}/?token=${token}`, 200)],
  });
  // The stock adapter asserts when shut down twice: the test may already have done it.
  let down = false;
  const shutdown = repo.shutdown.bind(repo);
  repo.shutdown = async () => {
    if (down) return;
    down = true;
    await shutdown();
  };
  cleanups.push(() => repo.shutdown());
  return repo;
}

function relayPeer(repo: Repo): PeerId | undefined {
  return repo.peers[0];
}

describe("the relay process", () => {
  it("keeps a change the client saw stored, across SIGKILL", async () => {
    const data = tempDir();
    cleanups.push(data.remove);
    let relay = await spawnRelay(data.dir);
    cleanups.push(() => void relay.child.kill("SIGKILL"));
    const token = await mintToken(secret, {
      sub: "alice",
      org: "acme",
      roles: ["rep"],
      offline: true,
    });

    const device = client(relay, token);
    await waitFor(() => relayPeer(device), "the client to connect");
    const handle = device.create<Quote>(
      createQuote({
        owner: asUserId("alice"),
        organization: asOrganizationId("acme"),
        currency: "USD",
      }),
    );
    for (let i = 0; i < 5; i++) {
      handle.change((q) => {
        addLineItem(q, { productCode: `P${i}`, quantity: i + 1, unitPrice: 100 });
      });
    }
    const peer = relayPeer(device) as PeerId;
    await waitFor(() => {
      const storageId = device.getStorageIdOfPeer(peer);
      const theirs = storageId ? handle.getSyncInfo(storageId)?.lastHeads : undefined;
      return theirs && handle.heads().every((h) => theirs.includes(h));
    }, "the relay to report the heads stored");
    // The client saw its change stored: kill the relay at once, with no chance to flush.
    relay.child.kill("SIGKILL");
    expect((await relay.exited).signal).toBe("SIGKILL");
    await device.shutdown();

    relay = await spawnRelay(data.dir);
    const other = client(relay, token);
    const found = await waitFor(
      () => other.find<Quote>(handle.url as AutomergeUrl).catch(() => undefined),
      "the quote after restart",
    );
    expect(sortedLineItems(found.doc()).map((l) => l.productCode)).toEqual([
      "P0",
      "P1",
      "P2",
      "P3",
      "P4",
    ]);
  });

  it("stops cleanly on SIGTERM with exit code 0", async () => {
    const data = tempDir();
    cleanups.push(data.remove);
    const relay = await spawnRelay(data.dir);
    relay.child.kill("SIGTERM");
    expect(await relay.exited).toEqual({ code: 0, signal: null });
  });
});
