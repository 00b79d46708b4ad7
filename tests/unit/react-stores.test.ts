import { describe, expect, it } from "vitest";
import { ResourceCache } from "../../src/react/resource.js";
import { keepUnchanged, Selection } from "../../src/react/value-store.js";

function source(initial: string) {
  let listener: ((v: string) => void) | undefined;
  let watching = 0;
  return {
    push: (v: string) => listener?.(v),
    watching: () => watching,
    load: async () => ({
      value: initial,
      extra: undefined,
      watch: (update: (v: string) => void) => {
        listener = update;
        watching++;
        return () => {
          listener = undefined;
          watching--;
        };
      },
    }),
  };
}

const thrown = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
};

describe("the stores under oms-sync/react", () => {
  it("a resource throws its load, then follows its source; forgotten unused, it follows again for a late subscriber", async () => {
    const cache = new ResourceCache(20);
    const doc = source("a");
    const resource = cache.get("k", doc.load);
    await expect(thrown(() => resource.read())).toBeInstanceOf(Promise);
    await resource.settled;
    const { store } = resource.read();
    expect(store.get()).toBe("a");
    doc.push("b");
    expect(store.get()).toBe("b");
    // Nobody subscribed for keepUnusedMs (twice: it was read just now): forgotten.
    await new Promise((r) => setTimeout(r, 80));
    expect(doc.watching()).toBe(0);
    expect(cache.get("k", doc.load)).not.toBe(resource);
    // A component that rendered with it before subscribes now: it follows again.
    const seen: string[] = [];
    const off = store.subscribe(() => seen.push(store.get() as string));
    doc.push("c");
    expect(seen).toEqual(["c"]);
    off();
  });

  it("a failed load throws its error until forgotten", async () => {
    const cache = new ResourceCache(60_000);
    const failing = cache.get("x", async () => {
      throw new Error("nope");
    });
    await failing.settled;
    expect(thrown(() => failing.read())).toMatchObject({ message: "nope" });
    expect(cache.get("x", source("y").load)).toBe(failing);
    cache.forgetFailed();
    expect(cache.get("x", source("y").load)).not.toBe(failing);
    cache.clear();
  });

  it("keeps unchanged rows and selections as the same objects", () => {
    const a = { id: "a", n: 1 };
    const b = { id: "b", n: 2 };
    const rows = [a, b];
    expect(
      keepUnchanged(rows, [
        { id: "a", n: 1 },
        { id: "b", n: 2 },
      ]),
    ).toBe(rows);
    const next = keepUnchanged(rows, [
      { id: "b", n: 3 },
      { id: "a", n: 1 },
    ]);
    expect(next[1]).toBe(a);
    expect(next[0]).not.toBe(b);
    const selection = new Selection<{ p: { x: number }; q: number }, { x: number }>();
    const first = selection.read({ p: { x: 1 }, q: 1 }, (s) => s.p);
    expect(selection.read({ p: { x: 1 }, q: 2 }, (s) => s.p)).toBe(first);
    expect(selection.read({ p: { x: 2 }, q: 2 }, (s) => s.p)).toEqual({ x: 2 });
  });
});
