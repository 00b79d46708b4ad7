import type { DocumentId } from "@automerge/automerge-repo";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type OmsClient } from "../../src/client/index.js";
import {
  addLineItem,
  type CatalogueEntry,
  type CataloguePage,
  OmsError,
  type Quote,
} from "../../src/docs/index.js";
import type { Relay } from "../../src/relay/index.js";
import { startRelay, stockClient, tempDir, waitFor } from "./helpers.js";

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

  it("never shows a state the relay refused: an owner changed on a device stays as stored", async () => {
    const id = await quote(alice, "Kept Owner Inc");
    const stock = stockClient(relay, await token("alice"));
    cleanups.push(stock.close);
    const handle = await stock.repo.find<Quote>(id as DocumentId);
    const refusalsBefore = await refusals();
    handle.change((d) => {
      d.owner = "mallory" as never;
      d.customer.name = "Forged Customer";
    });
    await waitFor(async () => (await refusals()) > refusalsBefore, "the relay's refusal");
    const rows = (await mia.quotes.search({ q: "kept owner" })).rows;
    expect(rows.map((r) => [r.id, r.owner, r.customer])).toEqual([[id, "alice", "Kept Owner Inc"]]);
    expect((await mia.quotes.search({ q: "forged" })).rows).toEqual([]);
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

describe("client search away from the relay, and a custom policy", () => {
  it("uses a custom canRead without a query form by checking rows, and says OFFLINE when not connected", async () => {
    const { createAccessPolicy } = await import("../../src/policy/index.js");
    const dir = tempDir();
    cleanups.push(dir.remove);
    // Everyone in an organization reads its quotes: no query form given, so the relay checks rows.
    const policy = createAccessPolicy({
      canRead: (p, m) => m.organization === p.organization,
    });
    expect(policy.readFilter).toBeUndefined();
    const other = await startRelay(dir.dir, { policy });
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
    expect((await ben.quotes.search()).rows.map((r) => r.id)).toEqual([q.id]);
    expect((await ben.quotes.search({ scope: "my" })).rows).toEqual([]);

    await other.close();
    await waitFor(() => ben.sync.status.state !== "complete", "ben offline");
    const err = await ben.quotes.search().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OmsError);
    expect((err as OmsError).code).toBe("OFFLINE");
    expect((err as OmsError).message).toMatch(/not connected/);
  });
});
