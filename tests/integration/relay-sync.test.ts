import type { AutomergeUrl } from "@automerge/automerge-repo";
import { afterEach, describe, expect, it } from "vitest";
import {
  addLineItem,
  asOrganizationId,
  asUserId,
  createQuote,
  type Quote,
} from "../../src/docs/index.js";
import type { Relay } from "../../src/relay/index.js";
import { startRelay, stockClient, tempDir, waitFor, waitStored } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function relayIn(dir: string): Promise<Relay> {
  const relay = await startRelay(dir);
  cleanups.push(() => relay.close());
  return relay;
}

describe("the relay with a stock automerge-repo client", () => {
  it("stores a valid quote, and a second device finds it after the relay restarts", async () => {
    const data = tempDir();
    cleanups.push(data.remove);
    let relay = await relayIn(data.dir);
    const token = await relay.mintToken({
      sub: "alice",
      org: "acme",
      roles: ["rep"],
      offline: true,
    });

    const device1 = stockClient(relay, token);
    const handle = device1.repo.create<Quote>(
      createQuote({
        owner: asUserId("alice"),
        organization: asOrganizationId("acme"),
        currency: "USD",
      }),
    );
    handle.change((q) => {
      addLineItem(q, { productCode: "DH-3046", quantity: 2, unitPrice: 45_900 });
    });
    // A stock client does not push a new document by itself: it syncs when asked.
    await device1.repo.find(handle.url).catch(() => undefined);
    await waitFor(() => device1.repo.peers.length > 0, "device 1 to connect");
    await waitStored(device1.repo, handle, relay.peerId);
    await device1.close();

    await relay.close();
    relay = await relayIn(data.dir);

    const device2 = stockClient(relay, token);
    cleanups.push(device2.close);
    const found = await waitFor(
      () => device2.repo.find<Quote>(handle.url as AutomergeUrl).catch(() => undefined),
      "device 2 to find the quote",
    );
    expect(Object.values(found.doc().lineItems).map((l) => l.productCode)).toEqual(["DH-3046"]);
  });
});
