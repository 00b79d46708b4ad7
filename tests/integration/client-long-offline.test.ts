import { afterEach, describe, expect, it } from "vitest";
import { createClient, FeatureDisabledError, type OmsClient } from "../../src/client/index.js";
import { addLineItem, type Quote } from "../../src/docs/index.js";
import { DAY_MS } from "../../src/policy/index.js";
import { mintToken } from "../../src/relay/auth.js";
import type { Relay } from "../../src/relay/index.js";
import { createManualClock } from "../../src/testing/index.js";
import { relayDoc, startRelay, TEST_SECRET, tempDir } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("a token that expires during 15 days offline", () => {
  it("keeps local work within the gate, across a restart, then asks for a fresh token and syncs everything", async () => {
    const relayData = tempDir();
    const device = tempDir();
    cleanups.push(relayData.remove, device.remove);
    let relay: Relay = await startRelay(relayData.dir);
    const port = relay.port;
    const url = relay.url;
    const secret = new TextEncoder().encode(TEST_SECRET);
    const claims = { sub: "alice", org: "acme", roles: ["rep"], offline: true };
    // Long enough for the first sync on a loaded machine (exp is whole seconds: 6 is 5 to 6 s).
    const shortLived = await mintToken(secret, { ...claims, ttl: 6 });
    let tokensAsked = 0;
    let issuerReachable = false;
    const getToken = async () => {
      tokensAsked++;
      return issuerReachable ? mintToken(secret, claims) : shortLived;
    };
    const t0 = Date.now();
    const clock = createManualClock(t0);
    const open = async (): Promise<OmsClient> => {
      const c = await createClient({
        url,
        token: shortLived,
        getToken,
        clock,
        storage: { folder: device.dir },
        schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
      });
      cleanups.push(() => c.close());
      return c;
    };

    let c = await open();
    const quote = await c.quotes.create({ currency: "USD", projectName: "Cabin" });
    quote.change((q) => {
      addLineItem(q, { productCode: "DH-3046", quantity: 1, unitPrice: 45_900 });
    });
    await c.sync.now();
    await relay.close();

    // Fifteen days without a connection; the token expires meanwhile.
    clock.set(t0 + 15 * DAY_MS);
    await new Promise((r) => setTimeout(r, 6_500));
    expect(c.gate.state.level).toBe("blocked");
    await expect(c.quotes.create({ currency: "USD" })).rejects.toBeInstanceOf(FeatureDisabledError);
    const local = await c.quotes.open(quote.id);
    local.change((q) => {
      q.notes = "day 15: customer wants it in oak";
    });
    await c.close();

    // A restart with the expired token and no relay: the saved session opens the device's data.
    c = await open();
    const reopened = await c.quotes.open(quote.id);
    expect(reopened.doc().notes).toBe("day 15: customer wants it in oak");
    reopened.change((q) => {
      q.projectName = "Cabin by the lake";
    });
    expect(c.gate.state.level).toBe("blocked");

    // The relay is back: the expired token is refused, a fresh one is asked for, all syncs.
    relay = await startRelay(relayData.dir, { port });
    cleanups.push(() => relay.close());
    const askedBefore = tokensAsked;
    issuerReachable = true;
    await c.sync.now();
    expect(tokensAsked).toBeGreaterThan(askedBefore);
    expect(c.sync.status).toMatchObject({ state: "complete", pendingDocuments: 0 });
    expect(relayDoc<Quote>(relay, quote.id)).toMatchObject({
      projectName: "Cabin by the lake",
      notes: "day 15: customer wants it in oak",
    });
    const listed = await c.quotes.list();
    expect(listed.map((q) => [q.doc.projectName, Object.keys(q.doc.lineItems).length])).toEqual([
      ["Cabin by the lake", 1],
    ]);
    expect(c.gate.state.level).toBe("ok");
    await expect(c.quotes.create({ currency: "USD" })).resolves.toBeDefined();
  });
});
