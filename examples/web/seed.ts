// Realistic work for the example's relay: two reps' quotes and orders (some submitted, so they
// carry order numbers) and one quote of another dealer. The README's screenshot and the browser
// tests of "All quotes" / "All orders" start from it.
import { addLineItem, createClient, type OmsClient, setHeader } from "../../src/client/index.js";
import type { Relay } from "../../src/relay/index.js";
import { demoUsers } from "./server.js";

const products = [
  { productCode: "DH-3046", description: "Double hung, 30×46", unitPrice: 45_900 },
  { productCode: "CA-2436", description: "Casement, 24×36", unitPrice: 38_500 },
  { productCode: "PD-6080", description: "Patio door, 6'0\"×8'0\"", unitPrice: 189_000 },
  { productCode: "PW-7248", description: "Picture window, 72×48", unitPrice: 74_200 },
  { productCode: "AW-3624", description: "Awning, 36×24", unitPrice: 41_800 },
];

/** One seeded document: who writes it, for whom, and whether it becomes a submitted order. */
export interface SeedDocument {
  owner: "alice" | "bob" | "oscar";
  customer: string;
  project: string;
  lines: number;
  /** "quote": stays a quote; "draft": an order not submitted; "submitted": submitted and numbered. */
  as: "quote" | "draft" | "submitted";
  daysAgo: number;
}

/** The demo's dealers, their customers and projects. */
export const demoWork: SeedDocument[] = [
  {
    owner: "alice",
    customer: "Hansen Homes",
    project: "Lake house",
    lines: 6,
    as: "submitted",
    daysAgo: 19,
  },
  {
    owner: "alice",
    customer: "Birchwood Builders",
    project: "Maple St. remodel",
    lines: 4,
    as: "submitted",
    daysAgo: 16,
  },
  {
    owner: "bob",
    customer: "Northgate Property Mgmt",
    project: "Unit 4B windows",
    lines: 3,
    as: "submitted",
    daysAgo: 14,
  },
  {
    owner: "alice",
    customer: "Rivera Residence",
    project: "Sunroom addition",
    lines: 5,
    as: "submitted",
    daysAgo: 12,
  },
  {
    owner: "bob",
    customer: "Cedar Ridge Dental",
    project: "Office front",
    lines: 2,
    as: "submitted",
    daysAgo: 9,
  },
  {
    owner: "alice",
    customer: "Okafor Family",
    project: "Kitchen garden door",
    lines: 2,
    as: "draft",
    daysAgo: 7,
  },
  {
    owner: "bob",
    customer: "Harbor View Condos",
    project: "Phase 2 replacements",
    lines: 8,
    as: "submitted",
    daysAgo: 6,
  },
  {
    owner: "alice",
    customer: "Lindqvist Farm",
    project: "Barn conversion",
    lines: 7,
    as: "draft",
    daysAgo: 4,
  },
  {
    owner: "bob",
    customer: "St. Anne's School",
    project: "Classroom wing",
    lines: 9,
    as: "submitted",
    daysAgo: 3,
  },
  {
    owner: "alice",
    customer: "Patel Residence",
    project: "Bay window",
    lines: 3,
    as: "draft",
    daysAgo: 1,
  },
  {
    owner: "alice",
    customer: "Greenleaf Co-op",
    project: "Storefront",
    lines: 4,
    as: "quote",
    daysAgo: 2,
  },
  {
    owner: "bob",
    customer: "Mendes Bakery",
    project: "Shop windows",
    lines: 2,
    as: "quote",
    daysAgo: 5,
  },
  {
    owner: "oscar",
    customer: "Globex Tower",
    project: "Lobby glazing",
    lines: 3,
    as: "submitted",
    daysAgo: 8,
  },
];

/** `n` quotes of one rep whose projects share `prefix`: enough rows to page through. */
export const manyQuotes = (owner: SeedDocument["owner"], prefix: string, n: number) =>
  Array.from(
    { length: n },
    (_, i): SeedDocument => ({
      owner,
      customer: `${prefix} customer ${String(i + 1).padStart(2, "0")}`,
      project: `${prefix} project ${String(i + 1).padStart(2, "0")}`,
      lines: 1 + (i % 4),
      as: "quote",
      daysAgo: i,
    }),
  );

/**
 * Writes `work` through ordinary clients (memory storage) and waits until orders are numbered.
 * `inOrder`: each submitted order is synced at once, so the numbers follow the dates (the
 * screenshot); otherwise all go with one sync at the end (faster, numbers in any order).
 */
export async function seed(
  relay: Relay,
  work: SeedDocument[] = demoWork,
  options: { inOrder?: boolean } = {},
): Promise<void> {
  const now = Date.now();
  // The seeding clients' clock stands at each document's day while it is written, so the
  // documents carry the dates of a few weeks' work; their staleness gate, which would take the
  // jumps for weeks without a sync, disables nothing.
  let at = now;
  const clock = {
    now: () => at,
    setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
    clearTimeout: (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>),
  };
  const clients = new Map<string, OmsClient>();
  const clientOf = async (sub: string) => {
    let c = clients.get(sub);
    if (!c) {
      const user = demoUsers.find((u) => u.sub === sub);
      if (!user) throw new Error(`seed: no demo user ${sub}`);
      const token = await relay.mintToken({ ...user, ttl: "1h" });
      c = await createClient({
        url: relay.url,
        token,
        storage: "memory",
        clock,
        gate: { gated: [] },
      });
      clients.set(sub, c);
    }
    return c;
  };
  const submitted: { client: OmsClient; id: string }[] = [];
  for (const [i, w] of work.entries()) {
    const c = await clientOf(w.owner);
    at = now - w.daysAgo * 86_400_000 - (i % 7) * 3_600_000;
    const quote = await c.quotes.create({
      currency: "USD",
      projectName: w.project,
      customer: { name: w.customer },
      now: at,
    });
    quote.change((d) => {
      setHeader(d, { customer: { name: w.customer } }, { now: at });
      for (let l = 0; l < w.lines; l++) {
        const p = products[(i + l) % products.length] as (typeof products)[number];
        addLineItem(d, { ...p, quantity: 1 + ((i + l) % 4) }, { now: at });
      }
    });
    if (w.as === "quote") continue;
    const order = await c.orders.createFromQuote(quote.id);
    if (w.as === "submitted") {
      await c.orders.submit(order.id);
      if (options.inOrder) await c.sync.now();
      submitted.push({ client: c, id: order.id });
    }
  }
  at = now;
  for (const c of clients.values()) await c.sync.now();
  // Numbers come from the relay's ledger; wait until each submitted order has one.
  for (const { client, id } of submitted) {
    for (let tries = 0; (await client.orders.state(id)).status !== "submitted"; tries++) {
      if (tries > 100) throw new Error(`seed: order ${id} got no number`);
      await client.sync.now();
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  for (const c of clients.values()) await c.close();
}
