import { createServer } from "node:http";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleHttp, type RelayState } from "../../src/relay/http-routes.js";
import type { Relay } from "../../src/relay/index.js";
import { createRelayMetrics } from "../../src/relay/metrics.js";
import { startRelay, tempDir } from "./helpers.js";

describe("tokens signed with public-key algorithms", () => {
  let relay: Relay;
  let data: { dir: string; remove: () => void };
  let privateKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair("ES256");
    privateKey = pair.privateKey as CryptoKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "idp-1", alg: "ES256", use: "sig" };
    data = tempDir();
    relay = await startRelay(data.dir, { jwks: { keys: [jwk] } });
  });
  afterAll(async () => {
    await relay.close();
    data.remove();
  });

  const sign = (kid: string, claims: Record<string, unknown>) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid })
      .setSubject("erin")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);
  const session = (token: string) =>
    fetch(`${relay.httpUrl}/v1/session`, { headers: { authorization: `Bearer ${token}` } });

  it("accepts an ES256 token from the configured keys", async () => {
    const res = await session(await sign("idp-1", { org: "acme", roles: ["rep"], offline: false }));
    expect(res.status).toBe(200);
    expect((await res.json()).user.userId).toBe("erin");
  });

  it("refuses an unknown key id and missing claims", async () => {
    expect((await session(await sign("idp-2", { org: "acme", roles: ["rep"] }))).status).toBe(401);
    const noOrg = await session(await sign("idp-1", { roles: ["rep"] }));
    expect(noOrg.status).toBe(401);
    expect((await noOrg.json()).error.message).toMatch(/"org" claim/);
  });

  it("answers browsers from other origins (CORS)", async () => {
    const preflight = await fetch(`${relay.httpUrl}/v1/session`, {
      method: "OPTIONS",
      headers: { origin: "http://oms.example", "access-control-request-headers": "authorization" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-headers")).toBe(
      "authorization, content-type",
    );
  });

  it("counts refusals in /metrics", async () => {
    const text = await (await fetch(`${relay.httpUrl}/metrics`)).text();
    expect(text).toMatch(/oms_relay_refusals_total\{reason="bad_token"\} [1-9]/);
  });
});

describe("health", () => {
  it("answers 503 while starting or stopping, 200 when ready", async () => {
    let state: RelayState = "starting";
    const ctx = {
      state: () => state,
      verify: async () => {
        throw new Error("unused");
      },
      sessions: {} as never,
      admin: {} as never,
      digest: {} as never,
      bulk: {} as never,
      metrics: createRelayMetrics({ loadedDocuments: () => 0 }),
      status: () => ({}),
      allowedOrigins: "*" as const,
    };
    const server = createServer((req, res) => void handleHttp(ctx, req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/healthz`;
    expect((await fetch(url)).status).toBe(503);
    state = "ready";
    expect(await (await fetch(url)).json()).toEqual({ status: "ok" });
    state = "stopping";
    const stopping = await fetch(url);
    expect([stopping.status, (await stopping.json()).status]).toEqual([503, "stopping"]);
    expect((await fetch(url.replace("/healthz", "/nope"))).status).toBe(404);
    server.close();
  });
});
