import { request } from "node:http";
import { connect } from "node:net";
import fc from "fast-check";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Relay } from "../../src/relay/index.js";
import { propertyRuns } from "../../src/testing/index.js";
import { startRelay, TEST_SECRET, tempDir } from "../integration/helpers.js";

// Ids come from outside: a token's claims (an identity provider we do not control), a path,
// a body. Whatever they are, the relay answers 2xx or 4xx with `{ error: { code, message } }`,
// never 500, and keeps running.
const runs = propertyRuns(40);
const secret = new TextEncoder().encode(TEST_SECRET);

let relay: Relay;
let data: { dir: string; remove: () => void };
let adminToken: string;
let repToken: string;

beforeAll(async () => {
  data = tempDir();
  relay = await startRelay(data.dir);
  adminToken = await relay.mintToken({ sub: "ada", org: "acme", roles: ["admin"] });
  repToken = await relay.mintToken({ sub: "rita", org: "acme", roles: ["rep"] });
});
afterAll(async () => {
  await relay.close();
  data.remove();
});

/** A token as an identity provider might sign it: any claims, no checks of ours. */
function idpToken(sub: string, org: string): Promise<string> {
  return new SignJWT({ org, roles: ["rep", "admin"], offline: true })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setExpirationTime("1h")
    .sign(secret);
}

const oddIds = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "__defineGetter__",
  "%E0%A4%A",
  "%",
  "%%",
  "%zz",
  "a".repeat(201),
  "b".repeat(5_000),
  "é",
  "用户",
  "🙂",
  "\u0000",
  "a/b",
  "..",
  ".",
  "",
];
const arbId = fc.oneof(
  fc.constantFrom(...oddIds),
  fc.string({ unit: "grapheme", maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.stringMatching(/^[A-Za-z0-9._@:%-]{1,40}$/),
);
/** How the id travels in a path: escaped properly, or as it is when it is plain ASCII. */
const arbSegment = fc.oneof(
  arbId.map(encodeURIComponent),
  fc.constantFrom("%E0%A4%A", "%", "%zz", "%C0%AF", "%ED%A0%80", "__proto__", "constructor"),
);

interface Answer {
  status: number;
  body: string;
}

/** Raw HTTP, so that the path reaches the relay exactly as written. */
function send(method: string, path: string, token: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: relay.port,
        method,
        path,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function expectAnswered(answer: Answer, what: string): void {
  expect(answer.status, `${what}: ${answer.body.slice(0, 300)}`).toBeLessThan(500);
  if (answer.status >= 400) {
    const error = (JSON.parse(answer.body) as { error?: { code?: unknown; message?: unknown } })
      .error;
    expect(typeof error?.code, what).toBe("string");
    expect(typeof error?.message, what).toBe("string");
  }
}

describe("odd ids over HTTP", () => {
  it("a token with any sub or org gets 200 or a 4xx with a typed error from /v1/session", async () => {
    await fc.assert(
      fc.asyncProperty(arbId, arbId, async (sub, org) => {
        const token = await idpToken(sub, org);
        expectAnswered(await send("GET", "/v1/session", token), `sub ${JSON.stringify(sub)}`);
        const sameOrg = await idpToken(sub, "acme");
        expectAnswered(await send("GET", "/v1/session", sameOrg), `sub ${JSON.stringify(sub)}`);
      }),
      { numRuns: runs },
    );
    for (const sub of ["__proto__", "constructor", "prototype"]) {
      const answer = await send("GET", "/v1/session", await idpToken(sub, "acme"));
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body).error.message).toMatch(/"sub" claim.*__proto__/);
    }
    for (const sub of ["toString", "hasOwnProperty", "valueOf"])
      expect((await send("GET", "/v1/session", await idpToken(sub, "acme"))).status).toBe(200);
  });

  it("admin paths and bodies with any id get 2xx or a 4xx with a typed error", async () => {
    await fc.assert(
      fc.asyncProperty(arbSegment, arbId, async (segment, owner) => {
        for (const action of ["revoke", "reinstate"]) {
          const path = `/v1/admin/users/${segment}/${action}`;
          expectAnswered(await send("POST", path, adminToken, {}), path);
        }
        const path = `/v1/admin/documents/${segment}/reassign`;
        expectAnswered(await send("POST", path, adminToken, { owner }), path);
      }),
      { numRuns: runs },
    );
    const malformed = await send("POST", "/v1/admin/users/%E0%A4%A/revoke", adminToken, {});
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body).error.code).toBe("INVALID_INPUT");
    const proto = await send("POST", "/v1/admin/users/__proto__/revoke", adminToken, {});
    expect([proto.status, JSON.parse(proto.body).error.code]).toEqual([400, "INVALID_INPUT"]);
  });

  it("sync endpoints with any bucket or id get 2xx or a 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(arbId, arbId, async (bucket, id) => {
        const digest = await send("POST", "/v1/sync/digest", repToken, {
          buckets: JSON.parse(`{${JSON.stringify(bucket)}: "0"}`),
          exclude: [id],
        });
        expectAnswered(digest, `bucket ${JSON.stringify(bucket)}`);
        if (digest.status === 200) {
          const differing = JSON.parse(digest.body).differing as Record<string, unknown>;
          expect(Object.hasOwn(differing, bucket), `bucket ${JSON.stringify(bucket)}`).toBe(true);
        }
        expectAnswered(
          await send("POST", "/v1/sync/bulk", repToken, { ids: [id] }),
          `id ${JSON.stringify(id)}`,
        );
      }),
      { numRuns: runs },
    );
  });

  it("a WebSocket upgrade on any path is answered and the relay keeps running", async () => {
    for (const path of ["//", "//x:y@[", "/?token=%E0%A4%A", "/%zz?token=__proto__", "//[::1"]) {
      const head = await new Promise<string>((resolve, reject) => {
        const socket = connect(relay.port, "127.0.0.1", () => {
          socket.write(
            `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
              "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
          );
        });
        let text = "";
        socket.on("data", (d) => {
          text += String(d);
        });
        socket.on("close", () => resolve(text));
        socket.on("error", reject);
      });
      expect(head, path).toMatch(/^HTTP\/1\.1 4\d\d /);
    }
    const health = await fetch(`${relay.httpUrl}/healthz`);
    expect(health.status).toBe(200);
  });
});
