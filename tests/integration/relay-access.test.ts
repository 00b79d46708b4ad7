import type { AutomergeUrl, DocHandle, Repo } from "@automerge/automerge-repo";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  addLineItem,
  asOrganizationId,
  asUserId,
  createQuote,
  type Ledger,
  type Quote,
} from "../../src/docs/index.js";
import { mintToken } from "../../src/relay/auth.js";
import { isRefusalNotice, type Relay, type SessionResponse } from "../../src/relay/index.js";
import {
  relayDoc,
  startRelay,
  stockClient,
  TEST_SECRET,
  tempDir,
  waitFor,
  waitStored,
} from "./helpers.js";

let relay: Relay;
let data: { dir: string; remove: () => void };
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  data = tempDir();
  relay = await startRelay(data.dir);
});
afterAll(async () => {
  for (const c of closers) await c();
  await relay.close();
  data.remove();
});

async function client(sub: string, org: string, roles: string[]): Promise<Repo> {
  const token = await relay.mintToken({ sub, org, roles, offline: true });
  const c = stockClient(relay, token);
  closers.push(c.close);
  await waitFor(() => c.repo.peers.length > 0, `${sub} to connect`);
  return c.repo;
}

async function aliceQuote(repo: Repo): Promise<DocHandle<Quote>> {
  const handle = repo.create<Quote>(
    createQuote({
      owner: asUserId("alice"),
      organization: asOrganizationId("acme"),
      currency: "USD",
      projectName: "Lake house",
    }),
  );
  handle.change((q) => {
    addLineItem(q, { productCode: "DH-3046", quantity: 1, unitPrice: 100 });
  });
  await waitStored(repo, handle, relay.peerId);
  return handle;
}

/** Collects refusal notices the relay sends about a handle. */
function notices(handle: DocHandle<unknown>): unknown[] {
  const seen: unknown[] = [];
  handle.on("ephemeral-message", ({ message }) => {
    if (isRefusalNotice(message)) seen.push(message);
  });
  return seen;
}

function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("open", () => {
      ws.close();
      resolve(101);
    });
    ws.on("error", (err) =>
      err.message.includes("Unexpected server response") ? undefined : reject(err),
    );
  });
}

describe("authentication", () => {
  it("refuses a missing, badly signed or expired token with 401 before the upgrade", async () => {
    const good = await relay.mintToken({ sub: "alice", org: "acme", roles: ["rep"] });
    const forged = await mintToken(
      new TextEncoder().encode("another-secret-another-secret-another-secret"),
      {
        sub: "alice",
        org: "acme",
        roles: ["rep"],
      },
    );
    const expired = await mintToken(new TextEncoder().encode(TEST_SECRET), {
      sub: "alice",
      org: "acme",
      roles: ["rep"],
      ttl: -10,
    });
    expect(await upgradeStatus(`${relay.url}/?token=${good}`)).toBe(101);
    expect(await upgradeStatus(`${relay.url}/`)).toBe(401);
    expect(await upgradeStatus(`${relay.url}/?token=${forged}`)).toBe(401);
    expect(await upgradeStatus(`${relay.url}/?token=${expired}`)).toBe(401);
    expect(await upgradeStatus(`${relay.url}/?token=not.a.jwt`)).toBe(401);
    const session = await fetch(`${relay.httpUrl}/v1/session`, {
      headers: { authorization: `Bearer ${expired}` },
    });
    expect(session.status).toBe(401);
    expect((await session.json()).error.code).toBe("AUTH_EXPIRED");
  });

  it("answers /v1/session with the user's documents and a signed relay time", async () => {
    const token = await relay.mintToken({
      sub: "alice",
      org: "acme",
      roles: ["rep"],
      offline: true,
    });
    const res = await fetch(`${relay.httpUrl}/v1/session`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await res.json()) as SessionResponse;
    expect(body.user).toEqual({
      userId: "alice",
      organization: "acme",
      roles: ["rep"],
      offline: true,
    });
    expect(Object.keys(body.documents).sort()).toEqual([
      "inbox",
      "ledger",
      "organization",
      "workspace",
    ]);
    expect(Math.abs(body.relayTime.time - Date.now())).toBeLessThan(60_000);
    const again = (await (
      await fetch(`${relay.httpUrl}/v1/session`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as SessionResponse;
    expect(again.documents).toEqual(body.documents);
  });
});

describe("who sees and writes what", () => {
  it("gives someone else's quote to nobody but its owner and the owner's managers", async () => {
    const alice = await client("alice", "acme", ["rep"]);
    const handle = await aliceQuote(alice);
    const bob = await client("bob", "acme", ["rep"]);
    const oscar = await client("oscar", "globex", ["manager"]);
    await expect(bob.find(handle.url)).rejects.toThrow(/unavailable/);
    await expect(oscar.find(handle.url)).rejects.toThrow(/unavailable/);

    const mona = await client("mona", "acme", ["manager"]);
    const seen = await mona.find<Quote>(handle.url as AutomergeUrl);
    expect(seen.doc().projectName).toBe("Lake house");
    seen.change((q) => {
      q.projectName = "Lake house, phase 2";
    });
    await waitFor(
      () => handle.doc().projectName === "Lake house, phase 2",
      "alice to see the manager's edit",
    );
  });

  it("refuses a change of owner, keeps the relay's copy, and tells the sender", async () => {
    const alice = await client("alice", "acme", ["rep"]);
    const handle = await aliceQuote(alice);
    const seen = notices(handle);
    handle.change((q) => {
      q.owner = asUserId("bob");
    });
    await waitFor(() => seen.length > 0, "a refusal notice");
    expect(seen[0]).toMatchObject({
      documentId: handle.documentId,
      reasons: [{ code: "WRONG_OWNER" }],
    });
    expect(relayDoc<Quote>(relay, handle.documentId).owner).toBe("alice");
  });

  it("refuses writes to the ledger", async () => {
    const token = await relay.mintToken({
      sub: "alice",
      org: "acme",
      roles: ["rep"],
      offline: true,
    });
    const session = (await (
      await fetch(`${relay.httpUrl}/v1/session`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as SessionResponse;
    const alice = await client("alice", "acme", ["rep"]);
    const ledger = await alice.find<Ledger>(session.documents.ledger as AutomergeUrl);
    const seen = notices(ledger);
    ledger.change((l) => {
      l.assistance["forged" as never] = { ticketNumber: "T-1", state: "open", receivedAt: 1 };
    });
    await waitFor(() => seen.length > 0, "a refusal notice");
    expect(seen[0]).toMatchObject({ reasons: [{ code: "READ_ONLY" }] });
    const relayLedger = relayDoc<Ledger>(relay, ledger.documentId);
    expect(Object.keys(relayLedger.assistance)).toEqual([]);
  });

  it("refuses a new document that fails the schema or names another owner, and registers nothing", async () => {
    const alice = await client("alice", "acme", ["rep"]);
    const bad = alice.create({
      ...createQuote({
        owner: asUserId("alice"),
        organization: asOrganizationId("acme"),
        currency: "USD",
      }),
      projectName: 42,
    });
    const notOwn = alice.create(
      createQuote({
        owner: asUserId("bob"),
        organization: asOrganizationId("acme"),
        currency: "USD",
      }),
    );
    const seenBad = notices(bad);
    const seenNotOwn = notices(notOwn);
    await alice.find(bad.url).catch(() => undefined);
    await waitFor(() => seenBad.length > 0 && seenNotOwn.length > 0, "refusal notices");
    expect(seenBad[0]).toMatchObject({ reasons: [{ code: "SCHEMA", path: ["projectName"] }] });
    expect(seenNotOwn[0]).toMatchObject({ reasons: [{ code: "WRONG_OWNER" }] });
    const bob = await client("bob", "acme", ["manager"]);
    await expect(bob.find(notOwn.url)).rejects.toThrow(/unavailable/);
  });
});
