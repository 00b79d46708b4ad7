import { describe, expect, it } from "vitest";
import { asOrganizationId, asUserId } from "../../src/docs/ids.js";
import { openDatabase } from "../../src/relay/database.js";
import { DocumentRegistry } from "../../src/relay/registry.js";
import { SqliteStore } from "../../src/relay/store/sqlite/sqlite-store.js";
import type { RegistryStore } from "../../src/relay/store/types.js";

const org = asOrganizationId("acme");
const meta = (owner: string) => ({
  kind: "order" as const,
  owner: asUserId(owner),
  organization: org,
});

/** The registry store, whose next `getMany` answers only on `release` (a slow round trip). */
function slowReads(inner: RegistryStore) {
  let release = () => {};
  let hold = false;
  let readDone = () => {};
  const read = new Promise<void>((r) => (readDone = r));
  const getMany: RegistryStore["getMany"] = async (ids) => {
    const answer = await inner.getMany(ids);
    if (hold) {
      hold = false;
      readDone();
      await new Promise<void>((r) => (release = r));
    }
    return answer;
  };
  const store = new Proxy(inner, {
    get: (target, property) => {
      if (property === "getMany") return getMany;
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store, holdNext: () => (hold = true), read, release: () => release() };
}

describe("the registry's periodic re-read of owners", () => {
  it("replaces owners changed elsewhere, answers lookups from what was loaded meanwhile, never undoes a newer read, and drops documents not in use", async () => {
    // Two nodes on one database: B reassigns, A re-reads.
    const db = openDatabase(":memory:");
    const shared = new SqliteStore(db);
    const slow = slowReads(shared.registry);
    const onA = new DocumentRegistry(slow.store);
    for (const id of ["d1", "d2", "d3"]) await shared.registry.register(id, meta("sam"), 1);
    for (const id of ["d1", "d2", "d3"]) await onA.get(id);

    await shared.access.reassign("d1", "kim");
    await shared.access.reassign("d2", "lee");
    slow.holdNext();
    const reread = onA.rereadAll(() => true, 2);
    await slow.read;
    // The re-read has read d1 and d2 and is still under way: lookups answer the loaded owner.
    expect((await onA.get("d1"))?.owner).toBe("sam");
    // d2 changes again, and a notice makes this node read it at once. The re-read, which read d2
    // before that, must not put its older answer back.
    await shared.access.reassign("d2", "max");
    expect((await onA.refresh("d2"))?.owner).toBe("max");
    slow.release();
    expect(await reread).toEqual(["d1"]);
    expect(onA.peek("d1")?.owner).toBe("kim");
    expect(onA.peek("d2")?.owner).toBe("max");
    expect(onA.peek("d3")?.owner).toBe("sam");

    // Nothing changed since: a second re-read replaces nothing.
    expect(await onA.rereadAll()).toEqual([]);

    // A document not in use (not loaded on this node) is dropped, not read, once a whole period
    // passed without a lookup: its next lookup reads the store, and the cache does not grow with
    // every document ever asked about. One just looked up stays (a message judged on it may
    // still be answered).
    await shared.access.reassign("d3", "kim");
    await onA.get("d3");
    expect(await onA.rereadAll((id) => id !== "d3")).toEqual(["d3"]);
    expect(onA.peek("d3")?.owner).toBe("kim");
    await shared.access.reassign("d3", "max");
    expect(await onA.rereadAll((id) => id !== "d3")).toEqual([]);
    expect(onA.peek("d3")).toBeUndefined();
    expect((await onA.get("d3"))?.owner).toBe("max");
    expect(onA.peek("d1")?.owner).toBe("kim");
    db.close();
  });
});
