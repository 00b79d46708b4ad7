import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SqliteStorageAdapter } from "../../src/adapters/storage-sqlite.js";
import { type CatalogueKind, catalogueKinds, catalogueSorts } from "../../src/docs/catalogue.js";
import type { OrganizationId, UserId } from "../../src/docs/ids.js";
import {
  type AccessPolicy,
  createAccessPolicy,
  defaultAccessPolicy,
  hasRole,
  type Principal,
} from "../../src/policy/index.js";
import {
  type CatalogueCursor,
  searchCatalogue,
} from "../../src/relay/catalogue/catalogue-query.js";
import { openDatabase, type RelayDatabase } from "../../src/relay/database.js";
import { SqliteCatalogueStore } from "../../src/relay/store/sqlite/catalogue-store.js";
import {
  arbOrganizationId,
  arbPrincipal,
  arbUserId,
  propertyRuns,
} from "../../src/testing/index.js";

const runs = propertyRuns(60);

interface Doc {
  id: string;
  kind: CatalogueKind;
  organization: OrganizationId;
  owner: UserId;
  updatedAt: number;
  customer: string;
  total: number;
}

const arbDocs = fc.uniqueArray(
  fc.record({
    id: fc.stringMatching(/^[a-z0-9]{4}$/),
    kind: fc.constantFrom(...catalogueKinds),
    organization: arbOrganizationId(),
    owner: arbUserId(),
    // Few distinct values: ties in the sort column, which the id must break.
    updatedAt: fc.integer({ min: 0, max: 3 }),
    customer: fc.constantFrom("Acme", "acme", "Birch", ""),
    total: fc.integer({ min: 0, max: 3 }),
  }),
  { selector: (d) => d.id, maxLength: 40 },
);

/** Team leads share their documents with their organization's reps; admins read everything. */
const sharingPolicy: AccessPolicy = createAccessPolicy({
  canRead: (p, m) =>
    hasRole(p, "admin") ||
    (m.organization === p.organization &&
      (hasRole(p, "manager") || m.owner === p.userId || m.owner === "carol")),
  readFilter: (p) =>
    hasRole(p, "admin")
      ? "all"
      : hasRole(p, "manager")
        ? [{ organization: p.organization }]
        : [{ organization: p.organization, owners: [p.userId, "carol" as UserId] }],
});

/** Nobody without a role reads anything; the query form says "none" for them. */
const roleOnlyPolicy: AccessPolicy = createAccessPolicy({
  canRead: (p, m) => p.roles.length > 0 && defaultAccessPolicy.canRead(p, m),
  readFilter: (p, kind) =>
    p.roles.length === 0 ? "none" : (defaultAccessPolicy.readFilter?.(p, kind) ?? "none"),
});

function load(docs: Doc[]): RelayDatabase {
  const db = openDatabase(":memory:");
  const insert = db.prepare(
    `INSERT INTO catalogue (doc_id, kind, organization, owner, customer, customer_key, project,
       currency, total_minor, total_key, line_count, created_at, updated_at, request_count, search, heads)
     VALUES (?, ?, ?, ?, ?, ?, '', 'USD', ?, ?, 0, 0, ?, 0, ?, '')`,
  );
  for (const d of docs)
    insert.run(
      d.id,
      d.kind,
      d.organization,
      d.owner,
      d.customer,
      d.customer.toLowerCase(),
      d.total,
      d.total,
      d.updatedAt,
      d.customer.toLowerCase(),
    );
  return db;
}

/** Every row the query answers, page after page, in order. */
async function allPages(
  db: RelayDatabase,
  policy: AccessPolicy,
  principal: Principal,
  kind: CatalogueKind,
  sort: (typeof catalogueSorts)[number],
  order: "asc" | "desc",
  q: string | undefined,
): Promise<string[]> {
  const store = new SqliteCatalogueStore(db, new SqliteStorageAdapter(db));
  const seen: string[] = [];
  let after: CatalogueCursor | undefined;
  for (;;) {
    const page = await searchCatalogue(store, policy, principal, {
      kind,
      sort,
      order,
      limit: 3,
      ...(q ? { q } : {}),
      ...(after ? { after } : {}),
    });
    seen.push(...page.entries.map((e) => e.id));
    if (!page.last) return seen;
    after = page.last;
  }
}

describe("a policy's query form and its canRead", () => {
  const policies: [string, AccessPolicy][] = [
    ["default", defaultAccessPolicy],
    ["sharing", sharingPolicy],
    ["role only", roleOnlyPolicy],
  ];
  for (const [name, policy] of policies) {
    it(`agree through the real SQL, page after page, with and without a search text (${name} policy, and the same canRead without a query form)`, async () => {
      const { readFilter: _, ...withoutFilter } = policy;
      await fc.assert(
        fc.asyncProperty(
          arbDocs,
          arbPrincipal(),
          fc.constantFrom(...catalogueKinds),
          fc.constantFrom(...catalogueSorts),
          fc.constantFrom("asc" as const, "desc" as const),
          // Through the trigram index (3+ characters), the plain scan (shorter, or a wildcard).
          fc.constantFrom(undefined, "acm", "ACME", "birch", "me", "%", "zzz"),
          async (docs, principal, kind, sort, order, q) => {
            const db = load(docs);
            try {
              const expected = docs
                .filter((d) => d.kind === kind && policy.canRead(principal, d))
                .filter((d) => !q || d.customer.toLowerCase().includes(q.toLowerCase()))
                .map((d) => d.id)
                .sort();
              for (const p of [policy, withoutFilter as AccessPolicy]) {
                const seen = await allPages(db, p, principal, kind, sort, order, q);
                expect(new Set(seen).size).toBe(seen.length);
                expect([...seen].sort()).toEqual(expected);
              }
            } finally {
              db.close();
            }
          },
        ),
        { numRuns: runs },
      );
    });
  }

  it("createAccessPolicy drops the default query form when canRead is replaced without one", () => {
    expect(createAccessPolicy({ canRead: () => true }).readFilter).toBeUndefined();
    expect(createAccessPolicy({ canWrite: () => true }).readFilter).toBeDefined();
  });
});
