import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SqliteStorageAdapter } from "../../src/adapters/storage-sqlite.js";
import { asOrganizationId, asUserId } from "../../src/docs/index.js";
import { defaultAccessPolicy, type Principal } from "../../src/policy/index.js";
import { coveringTrigrams, searchCatalogue } from "../../src/relay/catalogue/catalogue-query.js";
import { searchText } from "../../src/relay/catalogue/catalogue-row.js";
import { openDatabase } from "../../src/relay/database.js";
import { SqliteCatalogueStore } from "../../src/relay/store/sqlite/catalogue-store.js";
import { propertyRuns } from "../../src/testing/index.js";

const runs = propertyRuns(80);

// Few letters, so that texts share trigrams; quotes, wildcards, spaces and characters beyond
// one UTF-16 unit, which the trigram query must take literally and whole.
const letter = fc.constantFrom("a", "b", "A", " ", '"', "%", "_", "é", "😀", "-", "0");
const text = fc.array(letter, { maxLength: 12 }).map((l) => l.join(""));

const manager: Principal = {
  userId: asUserId("mia"),
  organization: asOrganizationId("acme"),
  roles: ["manager"],
  offline: false,
};

describe("the catalogue's text search", () => {
  it("answers exactly the rows whose customer, project or order number contain q, whether it starts from the trigram index or scans", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(text, text, fc.option(text, { nil: null })), { maxLength: 30 }),
        text.filter((q) => q.trim().length > 0),
        async (rows, rawQ) => {
          const q = rawQ.trim();
          const db = openDatabase(":memory:");
          try {
            const insert = db.prepare(
              `INSERT INTO catalogue (doc_id, kind, organization, owner, customer, customer_key,
                 project, currency, total_minor, total_key, line_count, created_at, updated_at,
                 request_count, order_number, search, heads)
               VALUES (?, 'order', 'acme', 'alice', ?, ?, ?, 'USD', 0, 0, 0, 0, 0, 0, ?, ?, '')`,
            );
            rows.forEach(([customer, project, number], i) => {
              insert.run(
                `d${i}`,
                customer,
                customer.toLowerCase(),
                project,
                number,
                searchText(customer, project, number),
              );
            });
            const expected = rows
              .map((r, i) => ({ id: `d${i}`, text: searchText(...r) }))
              .filter((r) => r.text.includes(q.toLowerCase()))
              .map((r) => r.id)
              .sort();
            const store = new SqliteCatalogueStore(db, new SqliteStorageAdapter(db));
            const page = await searchCatalogue(store, defaultAccessPolicy, manager, {
              kind: "order",
              q,
              sort: "updated",
              order: "desc",
              limit: 200,
            });
            expect(page.entries.map((e) => e.id).sort()).toEqual(expected);
          } finally {
            db.close();
          }
        },
      ),
      { numRuns: runs },
    );
  });

  it("covers q with trigrams of whole characters, each quoted for FTS5", () => {
    expect(coveringTrigrams("ab")).toEqual([]);
    expect(coveringTrigrams("Birch & Sons")).toEqual(['"bir"', '"ch "', '"& s"', '"ons"']);
    expect(coveringTrigrams("abcde")).toEqual(['"abc"', '"cde"']);
    expect(coveringTrigrams('a"b😀')).toEqual(['"a""b"', '"""b😀"']);
  });
});
