import "fake-indexeddb/auto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createClient } from "../../src/client/index.js";
import { mintToken } from "../../src/relay/auth.js";
import { closeCodes, type Relay } from "../../src/relay/index.js";
import { relayDoc, startRelay, TEST_SECRET, tempDir, waitFor } from "./helpers.js";
import { RawPeer } from "./raw-peer.js";

// Tokens on the wire: expiry on an open socket and at the upgrade, the HTTP Bearer scheme
// (docs/security.md, "Wire").

let relay: Relay;
let data: { dir: string; remove: () => void };
const secret = new TextEncoder().encode(TEST_SECRET);
const alice = (ttl: string | number) =>
  mintToken(secret, { sub: "alice", org: "acme", roles: ["rep"], offline: true, ttl });

beforeAll(async () => {
  data = tempDir();
  relay = await startRelay(data.dir);
});
afterAll(async () => {
  await relay.close();
  data.remove();
});

/** The status and JSON body of a refused WebSocket upgrade. */
function refusedUpgrade(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on("open", () => reject(new Error("the upgrade was accepted")));
    ws.on("error", () => {});
  });
}

describe("a token that expires while its socket is open", () => {
  it("closes the socket at its expiry with the tokenExpired close code", async () => {
    const peer = await RawPeer.connect(relay.url, await alice(2));
    await peer.join();
    const closed = await peer.closed;
    expect(closed.code).toBe(closeCodes.tokenExpired);
    expect(closed.reason).toMatch(/fresh token/);
  });

  it("the oms-sync client gets a fresh token from getToken and goes on syncing", async () => {
    let asked = 0;
    const client = await createClient({
      url: relay.url,
      token: await alice(3),
      getToken: async () => {
        asked++;
        // A distinct token each time: the client ignores a "fresh" token equal to its own.
        return alice(3_600 + asked);
      },
      storage: "memory",
      schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
    });
    try {
      // On a busy machine the expiry may interrupt this first run: that is the point.
      await client.sync.now().catch(() => undefined);
      await waitFor(() => asked > 0, "the client to ask for a fresh token", 10_000);
      const quote = await client.quotes.create({ currency: "USD", projectName: "after expiry" });
      await client.sync.now();
      expect(client.sync.status.state).toBe("complete");
      expect(relayDoc<{ projectName: string }>(relay, quote.id).projectName).toBe("after expiry");
    } finally {
      await client.close();
    }
  });
});

describe("tokens at the door", () => {
  it("an expired token at the upgrade is answered AUTH_EXPIRED, as operations.md says", async () => {
    const refused = await refusedUpgrade(`${relay.url}/?token=${await alice(-60)}`);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body).error.code).toBe("AUTH_EXPIRED");
  });

  it("HTTP takes the Bearer scheme in any case, and a 401 says where the token goes", async () => {
    const token = await alice("1h");
    for (const scheme of ["Bearer", "bearer", "BEARER"]) {
      const res = await fetch(`${relay.httpUrl}/v1/session`, {
        headers: { authorization: `${scheme} ${token}` },
      });
      expect(res.status).toBe(200);
    }
    const missing = await fetch(`${relay.httpUrl}/v1/session?token=${token}`);
    expect(missing.status).toBe(401);
    const { error } = (await missing.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("AUTH_REQUIRED");
    expect(error.message).toMatch(/authorization: Bearer/);
    expect(error.message).toMatch(/never in the URL/);
  });
});
