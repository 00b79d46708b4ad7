import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { type DocumentId, Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStorageAdapter } from "../../src/adapters/storage-file.js";
import { MemoryStorageAdapter } from "../../src/adapters/storage-memory.js";
import { createClient, type OmsClient } from "../../src/client/index.js";
import {
  addLineItem,
  type CatalogueEntry,
  type CataloguePage,
  OmsError,
  type Quote,
  setHeader,
} from "../../src/docs/index.js";
import type { Relay } from "../../src/relay/index.js";
import { startRelay, tempDir, waitFor } from "./helpers.js";

let relay: Relay;
let data: { dir: string; remove: () => void };
const cleanups: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  data = tempDir();
  relay = await startRelay(data.dir);
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await relay.close();
  data.remove();
});

const token = (sub: string, roles = ["rep"], org = "acme") =>
  relay.mintToken({ sub, org, roles, offline: true });

async function device(sub: string, roles = ["rep"], org = "acme"): Promise<OmsClient> {
  const c = await createClient({
    url: relay.url,
    token: await token(sub, roles, org),
    storage: "memory",
    schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
  });
  cleanups.push(() => c.close());
  await c.sync.now();
  return c;
}

async function get(query: string, bearer: string): Promise<Response> {
  return fetch(`${relay.httpUrl}/v1/documents?${query}`, {
    headers: { authorization: `Bearer ${bearer}` },
  });
}

async function page(query: string, bearer: string): Promise<CataloguePage> {
  const response = await get(query, bearer);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as CataloguePage;
}

const ids = (rows: CatalogueEntry[]) => rows.map((r) => r.id).sort();

async function quote(c: OmsClient, customer: string, lines = 1, sync = true): Promise<string> {
  const q = await c.quotes.create({
    currency: "USD",
    customer: { name: customer },
    projectName: `${customer} project`,
  });
  q.change((d) => {
    for (let i = 0; i < lines; i++)
      addLineItem(d as Quote, { productCode: `P-${i}`, quantity: 2, unitPrice: 150 });
  });
  if (sync) await c.sync.now();
  return q.id;
}

describe("the relay's catalogue", () => {
  let alice: OmsClient;
  let bob: OmsClient;
  let mia: OmsClient;
  let zed: OmsClient;
  const quotes: Record<string, string> = {};

  beforeAll(async () => {
    [alice, bob, mia, zed] = await Promise.all([
      device("alice"),
      device("bob"),
      device("mia", ["manager"]),
      device("zed", ["manager"], "globex"),
    ]);
    quotes.a1 = await quote(alice, "Lakeside Homes", 2);
    quotes.a2 = await quote(alice, "100% Windows_Co");
    quotes.b1 = await quote(bob, "Birch & Sons");
    quotes.z1 = await quote(zed, "Lakeside Homes");
  });

  it("lists what each one may read: the rep their own, the manager the organization's, nothing across organizations", async () => {
    const mine = await alice.quotes.search();
    expect(ids(mine.rows)).toEqual([quotes.a1, quotes.a2].sort());
    expect(mine.next).toBeNull();
    const row = mine.rows.find((r) => r.id === quotes.a1);
    expect(row).toMatchObject({
      kind: "quote",
      owner: "alice",
      organization: "acme",
      customer: "Lakeside Homes",
      project: "Lakeside Homes project",
      currency: "USD",
      total: 600,
      lines: 2,
      state: null,
    });
    expect(ids((await mia.quotes.search()).rows)).toEqual([quotes.a1, quotes.a2, quotes.b1].sort());
    expect(ids((await mia.quotes.search({ owner: "bob" })).rows)).toEqual([quotes.b1]);
    expect((await mia.quotes.search({ scope: "my" })).rows).toEqual([]);
    expect(ids((await zed.quotes.search()).rows)).toEqual([quotes.z1]);
    // A rep naming a colleague gets nothing: the owner filter narrows, never widens.
    expect((await alice.quotes.search({ owner: "bob" })).rows).toEqual([]);
    expect((await bob.orders.search()).rows).toEqual([]);
  });

  it("searches customer, project and order number, case-insensitive, wildcards taken literally", async () => {
    expect(ids((await mia.quotes.search({ q: "lakeSIDE" })).rows)).toEqual([quotes.a1]);
    expect(ids((await mia.quotes.search({ q: "sons lakeside" })).rows)).toEqual([]);
    expect(ids((await mia.quotes.search({ q: "& sons" })).rows)).toEqual([quotes.b1]);
    expect(ids((await mia.quotes.search({ q: "100%" })).rows)).toEqual([quotes.a2]);
    expect((await mia.quotes.search({ q: "%" })).rows.map((r) => r.id)).toEqual([quotes.a2]);
    expect(ids((await mia.quotes.search({ q: "s_co" })).rows)).toEqual([quotes.a2]);
    expect((await mia.quotes.search({ q: "_" })).rows.map((r) => r.id)).toEqual([quotes.a2]);
    const byCustomer = await mia.quotes.search({ sort: "customer", order: "asc" });
    expect(byCustomer.rows.map((r) => r.customer)).toEqual([
      "100% Windows_Co",
      "Birch & Sons",
      "Lakeside Homes",
    ]);
    const byTotal = await mia.quotes.search({ sort: "total", order: "desc" });
    expect(byTotal.rows[0]?.id).toBe(quotes.a1);
  });

  it("answers 400 naming the parameter, 401 without a token, 403 to a revoked user, 429 past the rate", async () => {
    const t = await token("alice");
    const cases: [string, string][] = [
      ["", "kind"],
      ["kind=ledger", "kind"],
      ["kind=quote&limit=0", "limit"],
      ["kind=quote&limit=201", "limit"],
      ["kind=quote&limit=1.5", "limit"],
      ["kind=quote&sort=owner", "sort"],
      ["kind=quote&order=up", "order"],
      [`kind=quote&q=${"x".repeat(101)}`, "q"],
      ["kind=quote&state=draft", "state"],
      ["kind=order&state=lost", "state"],
      ["kind=quote&cursor=bm9wZQ", "cursor"],
      ["kind=quote&owner=a%20b", "owner"],
      ["kind=quote&page=2", "page"],
      ["kind=quote&kind=order", "kind"],
    ];
    for (const [query, parameter] of cases) {
      const response = await get(query, t);
      expect(response.status, query).toBe(400);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("INVALID_INPUT");
      expect(body.error.message.startsWith(`${parameter}:`), body.error.message).toBe(true);
    }
    const first = await page("kind=quote&limit=1&sort=created", t);
    const wrong = await get(`kind=quote&limit=1&sort=updated&cursor=${first.next as string}`, t);
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: { message: string } }).error.message).toMatch(
      /^cursor:/,
    );
    expect((await fetch(`${relay.httpUrl}/v1/documents?kind=quote`)).status).toBe(401);

    await relay.admin.revoke({ organization: "acme", userId: "carol" }, "left the company");
    const revoked = await get("kind=quote", await token("carol"));
    expect(revoked.status).toBe(403);
    expect(((await revoked.json()) as { error: { code: string } }).error.code).toBe("USER_REVOKED");

    // 200 at once: more than the burst plus what refills while they are answered.
    const dan = await token("dan");
    const answers = await Promise.all(Array.from({ length: 200 }, () => get("kind=quote", dan)));
    const limited = answers.find((r) => r.status === 429) as Response;
    expect(limited.headers.get("retry-after")).toBe("1");
    expect(((await limited.json()) as { error: { message: string } }).error.message).toMatch(
      /catalogue requests per second/,
    );
  });

  it("follows a reassignment: the old owner stops seeing the document, the new one sees it", async () => {
    const id = await quote(alice, "Reassigned Ltd");
    expect(ids((await alice.quotes.search({ q: "reassigned" })).rows)).toEqual([id]);
    await relay.admin.reassign(id, "bob");
    expect((await alice.quotes.search({ q: "reassigned" })).rows).toEqual([]);
    const bobs = await bob.quotes.search({ q: "reassigned" });
    expect(bobs.rows.map((r) => [r.id, r.owner])).toEqual([[id, "bob"]]);
  });

  it("never shows a state the relay refused: an owner changed on a device while offline stays as stored, and later edits still show", async () => {
    const id = await quote(alice, "Kept Owner Inc");
    const t = await token("alice");
    // A stock automerge-repo device with storage: it fetches the quote while connected...
    const storage = new MemoryStorageAdapter();
    const connect = () =>
      new Repo({
        network: [new WebSocketClientAdapter(`${relay.url}/?token=${encodeURIComponent(t)}`, 200)],
        storage,
      });
    const online = connect();
    await online.find<Quote>(id as DocumentId);
    await online.shutdown();
    // ...changes its owner with no connection...
    const offline = new Repo({ storage });
    const handle = await offline.find<Quote>(id as DocumentId);
    handle.change((d) => {
      d.owner = "mallory" as never;
      d.customer.name = "Forged Customer";
    });
    await offline.shutdown();
    // ...and sends it when it connects again: the relay refuses it.
    const refusalsBefore = await refusals();
    const back = connect();
    cleanups.push(() => back.shutdown());
    await back.find<Quote>(id as DocumentId);
    await waitFor(async () => (await refusals()) > refusalsBefore, "the relay's refusal");
    const rows = (await mia.quotes.search({ q: "kept owner" })).rows;
    expect(rows.map((r) => [r.id, r.owner, r.customer])).toEqual([[id, "alice", "Kept Owner Inc"]]);
    expect((await mia.quotes.search({ q: "forged" })).rows).toEqual([]);
    // The owner's own later edit is stored and shows.
    const mine = await alice.quotes.open(id);
    mine.change((d) => setHeader(d, { customer: { name: "Kept Owner Renamed" } }));
    await alice.sync.now();
    const renamed = (await mia.quotes.search({ q: "kept owner" })).rows;
    expect(renamed.map((r) => [r.id, r.owner, r.customer])).toEqual([
      [id, "alice", "Kept Owner Renamed"],
    ]);
  });

  it("keeps a document opened from a search in memory only: a manager's later offline start has their own documents, not it", async () => {
    const device = tempDir();
    cleanups.push(device.remove);
    const managerToken = await token("max", ["manager"]);
    const open = (url: string) =>
      createClient({
        url,
        token: managerToken,
        storage: { folder: device.dir },
        schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
      });
    const max = await open(relay.url);
    await max.sync.now();
    const own = await quote(max, "Max Own Customer");
    const [found] = (await max.quotes.search({ q: "birch", owner: "bob" })).rows;
    expect(found?.id).toBe(quotes.b1);
    const opened = await max.quotes.open(quotes.b1 as string);
    expect(opened.doc().customer.name).toBe("Birch & Sons");
    opened.change((d) => setHeader(d, { projectName: "Reviewed by Max" }));
    await waitFor(
      async () => (await mia.quotes.search({ q: "reviewed by max" })).rows.length === 1,
      "the manager's edit stored by the relay",
    );
    await max.close();

    // The same device, later, with no relay to reach.
    const away = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const later = await open(`ws://127.0.0.1:${away}`);
    cleanups.push(() => later.close());
    expect((await later.quotes.list()).map((q) => q.id)).toEqual([own]);
    const err = await later.quotes.open(quotes.b1 as string).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OmsError);
    expect((err as OmsError).code).toBe("OFFLINE");
    const keys = (await new FileStorageAdapter(device.dir).loadRange([])).map((c) => c.key);
    expect(keys.some((k) => k.includes(own))).toBe(true);
    expect(keys.some((k) => k.includes(quotes.b1 as string))).toBe(false);
  });

  it("pages by (sort value, id) without skipping or repeating rows while documents are added", async () => {
    const org = "paging";
    const rep = await device("pat", ["rep"], org);
    const boss = await device("pam", ["manager"], org);
    const before: string[] = [];
    for (let i = 0; i < 5; i++)
      before.push(await quote(rep, i % 2 ? "Same Name" : `Cust ${i}`, 1 + (i % 2), false));
    await rep.sync.now();
    const runs = [
      ["created", "asc"],
      ["created", "desc"],
      ["customer", "asc"],
      ["total", "desc"],
      ["updated", "desc"],
    ] as const;
    for (const [sort, order] of runs) {
      {
        const seen: string[] = [];
        let cursor: string | undefined;
        let added = 0;
        do {
          const p = await boss.quotes.search({
            sort,
            order,
            limit: 3,
            ...(cursor ? { cursor } : {}),
          });
          seen.push(...p.rows.map((r) => r.id));
          cursor = p.next ?? undefined;
          // A document added between two pages.
          if (cursor && added++ < 1) before.push(await quote(rep, "Same Name"));
        } while (cursor);
        expect(new Set(seen).size, `${sort} ${order}`).toBe(seen.length);
        const existing = before.slice(0, before.length - 1);
        for (const id of existing) expect(seen, `${sort} ${order}`).toContain(id);
      }
    }
  });

  it("shows an order's submission state, number and revision, and finds it by number", async () => {
    const order = await alice.orders.create({ currency: "USD", customer: { name: "Numbered" } });
    order.change((o) => addLineItem(o, { productCode: "DH", quantity: 1, unitPrice: 999 }));
    await alice.sync.now();
    expect((await alice.orders.search({ state: "draft" })).rows.map((r) => r.id)).toContain(
      order.id,
    );
    await alice.orders.submit(order.id);
    await alice.sync.now();
    await relay.processed();
    const row = await waitFor(async () => {
      const [r] = (await alice.orders.search({ state: "submitted" })).rows;
      return r;
    }, "the order submitted in the catalogue");
    expect(row).toMatchObject({ id: order.id, state: "submitted", revision: 1, total: 999 });
    const number = row.orderNumber as string;
    expect(number).toBeTruthy();
    expect((await mia.orders.search({ q: number.toLowerCase() })).rows.map((r) => r.id)).toEqual([
      order.id,
    ]);
  });
});

async function refusals(): Promise<number> {
  const text = await (await fetch(`${relay.httpUrl}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith("oms_relay_refusals_total"))
    .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
}

describe("client search away from the relay, a custom policy, and limits given as options", () => {
  it("uses a custom canRead without a query form by checking rows, applies the limits it was given, and says OFFLINE when not connected", async () => {
    const { createAccessPolicy } = await import("../../src/policy/index.js");
    const dir = tempDir();
    cleanups.push(dir.remove);
    // A limit out of range stops the start, naming the option.
    for (const [limits, option] of [
      [{ catalogueMaxLimit: 0 }, "limits.catalogueMaxLimit"],
      [{ catalogueRequestRate: Number.NaN }, "limits.catalogueRequestRate"],
      [{ catalogueDefaultLimit: 300 }, "limits.catalogueDefaultLimit"],
    ] as const) {
      const refused = await startRelay(dir.dir, { limits }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(OmsError);
      expect((refused as OmsError).code).toBe("INVALID_INPUT");
      expect((refused as OmsError).message).toContain(option);
    }
    // Everyone in an organization reads its quotes: no query form given, so the relay checks rows.
    const policy = createAccessPolicy({
      canRead: (p, m) => m.organization === p.organization,
    });
    expect(policy.readFilter).toBeUndefined();
    const other = await startRelay(dir.dir, {
      policy,
      limits: {
        catalogueDefaultLimit: 1,
        catalogueMaxLimit: 2,
        catalogueMaxQueryLength: 4,
        catalogueRequestRate: 0.5,
        catalogueBurst: 8,
      },
    });
    const open = async (sub: string) => {
      const c = await createClient({
        url: other.url,
        token: await other.mintToken({ sub, org: "acme", roles: ["rep"], offline: true }),
        storage: "memory",
        schedule: { backoffInitialMs: 50, backoffMaxMs: 200 },
      });
      cleanups.push(() => c.close());
      await c.sync.now();
      return c;
    };
    const [ann, ben] = [await open("ann"), await open("ben")];
    const q = await ann.quotes.create({ currency: "EUR", customer: { name: "Shared" } });
    await ann.sync.now();
    const b = await ben.quotes.create({ currency: "EUR", customer: { name: "Ben's" } });
    await ben.sync.now();
    // One row a page by default (catalogueDefaultLimit).
    const first = await ben.quotes.search();
    expect(first.rows).toHaveLength(1);
    const second = await ben.quotes.search({ cursor: first.next as string });
    expect([...first.rows, ...second.rows].map((r) => r.id).sort()).toEqual([q.id, b.id].sort());
    expect(second.next).toBeNull();
    expect((await ben.quotes.search({ scope: "my" })).rows.map((r) => r.id)).toEqual([b.id]);
    const tooMany = await ben.quotes.search({ limit: 3 }).catch((e: unknown) => e);
    expect((tooMany as OmsError).code).toBe("INVALID_INPUT");
    expect((tooMany as OmsError).message).toMatch(/^limit: must be a whole number from 1 to 2/);
    const tooLong = await ben.quotes.search({ q: "share" }).catch((e: unknown) => e);
    expect((tooLong as OmsError).message).toMatch(/^q: is longer than 4 characters/);
    // Past the burst, with half a request a second: refused, naming the options to raise.
    const t = await other.mintToken({ sub: "ben", org: "acme", roles: ["rep"], offline: true });
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        fetch(`${other.httpUrl}/v1/documents?kind=quote`, {
          headers: { authorization: `Bearer ${t}` },
        }),
      ),
    );
    const limited = answers.find((r) => r.status === 429) as Response;
    expect(((await limited.json()) as { error: { message: string } }).error.message).toMatch(
      /more than 0\.5 catalogue requests per second \(after a burst of 8\).*limits\.catalogueRequestRate/,
    );

    await other.close();
    await waitFor(() => ben.sync.status.state !== "complete", "ben offline");
    const err = await ben.quotes.search().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OmsError);
    expect((err as OmsError).code).toBe("OFFLINE");
    expect((err as OmsError).message).toMatch(/not connected/);
  });
});
