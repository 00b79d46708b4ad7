// @vitest-environment happy-dom
import { render, screen, waitFor } from "@testing-library/react";
import { memo, Suspense } from "react";
import { beforeEach, describe, expect, it } from "vitest";
import { setHeader } from "../../src/docs/index.js";
import {
  type ListRow,
  OmsProvider,
  useDocument,
  useQuotes,
  useSyncStatus,
} from "../../src/react/index.js";
import { client, relay } from "./fixture.js";

// Re-render only what changed: each component counts its renders (no StrictMode, so one
// render per update).

const renders = new Map<string, number>();
const count = (key: string) => renders.set(key, (renders.get(key) ?? 0) + 1);
const seen = (key: string) => renders.get(key) ?? 0;
beforeEach(() => renders.clear());

function Name({ id }: { id: string }) {
  const [quote] = useDocument(id, "quote");
  count(id);
  return <p>{quote.projectName}</p>;
}

const Row = memo(function Row({ row }: { row: ListRow }) {
  count(row.id);
  return <li>{row.project}</li>;
});

function MyQuotes() {
  const { rows, loading } = useQuotes({ sort: "created", order: "asc" });
  count("list");
  if (loading) return <p>loading</p>;
  return (
    <ul>
      {rows.map((row) => (
        <Row key={row.id} row={row} />
      ))}
    </ul>
  );
}

function State() {
  const state = useSyncStatus((s) => s.state);
  count("state");
  return <p>state:{state}</p>;
}

function Full() {
  const status = useSyncStatus();
  count("full");
  return <p>done:{status.progress.documentsDone}</p>;
}

describe("re-renders", () => {
  it("two components reading different quotes do not re-render each other", async () => {
    const r = await relay();
    const laptop = await client(r, "alice");
    const first = await laptop.quotes.create({ currency: "USD", projectName: "First" });
    const second = await laptop.quotes.create({ currency: "USD", projectName: "Second" });
    render(
      <OmsProvider client={laptop}>
        <Suspense fallback={<p>opening</p>}>
          <Name id={first.id} />
          <Name id={second.id} />
        </Suspense>
      </OmsProvider>,
    );
    await screen.findByText("First");
    await screen.findByText("Second");
    const before = { first: seen(first.id), second: seen(second.id) };

    // A local change of the first…
    first.change((q) => setHeader(q, { projectName: "First, edited" }));
    await screen.findByText("First, edited");
    // …and a remote one, from alice's phone (after it has the first: not a concurrent edit).
    await laptop.sync.now();
    const phone = await client(r, "alice");
    const remote = await phone.quotes.open(first.id);
    await waitFor(() => expect(remote.doc().projectName).toBe("First, edited"));
    remote.change((q) => setHeader(q, { projectName: "First, from the phone" }));
    await screen.findByText("First, from the phone", undefined, { timeout: 5_000 });

    expect(seen(first.id)).toBeGreaterThanOrEqual(before.first + 2);
    expect(seen(second.id)).toBe(before.second);
  });

  it("a list re-renders only the row whose quote changed", async () => {
    const r = await relay();
    const laptop = await client(r, "alice");
    const handles = [];
    for (const name of ["Alpha", "Bravo", "Charlie"])
      handles.push(await laptop.quotes.create({ currency: "USD", projectName: name }));
    await laptop.sync.now();
    render(
      <OmsProvider client={laptop}>
        <MyQuotes />
      </OmsProvider>,
    );
    await screen.findByText("Charlie");
    expect(screen.getAllByRole("listitem").map((li) => li.textContent)).toEqual([
      "Alpha",
      "Bravo",
      "Charlie",
    ]);
    const [a, b, c] = handles.map((h) => h.id as string) as [string, string, string];
    const before = { a: seen(a), b: seen(b), c: seen(c), list: seen("list") };

    handles[1]?.change((q) => setHeader(q, { projectName: "Bravo, edited" }));
    await screen.findByText("Bravo, edited", undefined, { timeout: 5_000 });

    expect(seen("list")).toBeGreaterThan(before.list);
    expect(seen(b)).toBe(before.b + 1);
    expect(seen(a)).toBe(before.a);
    expect(seen(c)).toBe(before.c);

    // A new quote appears in the list; the rows already there are not rendered again.
    await laptop.quotes.create({ currency: "USD", projectName: "Delta" });
    await screen.findByText("Delta", undefined, { timeout: 5_000 });
    expect(seen(a)).toBe(before.a);
    expect(seen(c)).toBe(before.c);
  });

  it("a status selector re-renders when its part changes, not on every status push", async () => {
    const r = await relay();
    const laptop = await client(r, "alice");
    await laptop.sync.now();
    render(
      <OmsProvider client={laptop}>
        <State />
        <Full />
      </OmsProvider>,
    );
    await screen.findByText("state:complete");
    const pushed: string[] = [laptop.sync.status.state];
    laptop.sync.subscribe((s) => pushed.push(s.state));
    const stateBefore = seen("state");
    const fullBefore = seen("full");

    for (const name of ["One", "Two", "Three"]) {
      const q = await laptop.quotes.create({ currency: "USD" });
      q.change((d) => setHeader(d, { projectName: name }));
      await laptop.sync.now();
    }
    await waitFor(() => expect(screen.getByText("state:complete")).toBeTruthy());

    const transitions = pushed.filter((state, i) => i > 0 && state !== pushed[i - 1]).length;
    expect(pushed.length - 1).toBeGreaterThan(transitions);
    expect(seen("state") - stateBefore).toBeLessThanOrEqual(transitions);
    expect(seen("full") - fullBefore).toBeGreaterThan(seen("state") - stateBefore);
  });
});
