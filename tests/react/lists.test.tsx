// @vitest-environment happy-dom
import { act, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { OmsClient } from "../../src/client/index.js";
import { addLineItem, setHeader } from "../../src/docs/index.js";
import { type ListOptions, OmsProvider, useQuotes } from "../../src/react/index.js";
import { client, relay, reopen } from "./fixture.js";

function Quotes({ options }: { options?: ListOptions }) {
  const list = useQuotes(options);
  return (
    <div>
      <p>
        {list.loading ? "loading" : "ready"} {list.error ? `error:${list.error.code}` : ""}{" "}
        {list.hasMore ? "more" : "end"}
      </p>
      <ul>
        {list.rows.map((row) => (
          <li key={row.id}>
            {row.customer}:{row.total}
          </li>
        ))}
      </ul>
      <button type="button" onClick={list.loadMore}>
        more
      </button>
    </div>
  );
}

const items = () => screen.queryAllByRole("listitem").map((li) => li.textContent);

async function quote(c: OmsClient, customer: string, unitPrice = 100) {
  const q = await c.quotes.create({ currency: "USD", customer: { name: customer } });
  q.change((d) => addLineItem(d, { productCode: "DH-1", quantity: 1, unitPrice }));
  return q;
}

describe("lists", () => {
  it('"My": filtered and sorted on the device, following new and changed quotes', async () => {
    const r = await relay();
    const alice = await client(r, "alice");
    await quote(alice, "Lakeside Homes", 300);
    await quote(alice, "Birch & Sons", 200);
    const lake = await quote(alice, "Lake Forest", 100);
    render(
      <OmsProvider client={alice}>
        <Quotes options={{ q: "LAKE", sort: "total", order: "asc" }} />
      </OmsProvider>,
    );
    await waitFor(() => expect(items()).toEqual(["Lake Forest:100", "Lakeside Homes:300"]));
    lake.change((d) => setHeader(d, { customer: { name: "Lake Forest Ltd" } }));
    await waitFor(() => expect(items()).toEqual(["Lake Forest Ltd:100", "Lakeside Homes:300"]), {
      timeout: 5_000,
    });
    await quote(alice, "Great Lakes", 250);
    await waitFor(
      () =>
        expect(items()).toEqual(["Lake Forest Ltd:100", "Great Lakes:250", "Lakeside Homes:300"]),
      { timeout: 5_000 },
    );
  });

  it("the catalogue: a manager's search, a page at a time, searching again as the query changes", async () => {
    const r = await relay();
    const [alice, bob, mia] = await Promise.all([
      client(r, "alice"),
      client(r, "bob"),
      client(r, "mia", { roles: ["manager"] }),
    ]);
    for (const name of ["Ash", "Beech", "Cedar"]) await quote(alice, name);
    for (const name of ["Dogwood", "Elm"]) await quote(bob, name);
    await Promise.all([alice.sync.now(), bob.sync.now()]);
    const options: ListOptions = { scope: "all", sort: "customer", order: "asc", limit: 2 };
    const searches = vi.spyOn(mia.quotes, "search");
    const view = render(
      <OmsProvider client={mia}>
        <Quotes options={options} />
      </OmsProvider>,
    );
    await waitFor(() => expect(items()).toEqual(["Ash:100", "Beech:100"]));
    expect(screen.getByText(/ready/).textContent).toContain("more");
    await act(async () => screen.getByText("more", { selector: "button" }).click());
    await waitFor(() => expect(items()).toHaveLength(4));
    await act(async () => screen.getByText("more", { selector: "button" }).click());
    await waitFor(() =>
      expect(items()).toEqual(["Ash:100", "Beech:100", "Cedar:100", "Dogwood:100", "Elm:100"]),
    );
    expect(screen.getByText(/ready/).textContent).toContain("end");
    expect(searches).toHaveBeenCalledTimes(3);

    // Options equal to the last ones (a new object, as an inline literal is) search nothing.
    view.rerender(
      <OmsProvider client={mia}>
        <Quotes options={{ limit: 2, order: "asc", sort: "customer", scope: "all" }} />
      </OmsProvider>,
    );
    expect(items()).toHaveLength(5);
    expect(searches).toHaveBeenCalledTimes(3);

    // Other options: a new search from the first page.
    view.rerender(
      <OmsProvider client={mia}>
        <Quotes options={{ ...options, q: "e", sort: "customer", order: "desc" }} />
      </OmsProvider>,
    );
    await waitFor(() => expect(items()).toEqual(["Elm:100", "Cedar:100"]));
    expect(screen.getByText(/ready/).textContent).toContain("more");
  });

  it("offline, the catalogue's OFFLINE is a value, My stays, and the search runs again once connected", async () => {
    let r = await relay();
    const alice = await client(r, "alice");
    await quote(alice, "Ash");
    await alice.sync.now();
    await r.close();
    await waitFor(() => expect(alice.sync.status.state).toBe("offline"));
    render(
      <OmsProvider client={alice}>
        <Quotes options={{ scope: "all" }} />
        <Quotes />
      </OmsProvider>,
    );
    await screen.findByText(/error:OFFLINE/);
    await waitFor(() => expect(items()).toEqual(["Ash:100"]));

    r = await reopen(r);
    await waitFor(() => expect(items()).toEqual(["Ash:100", "Ash:100"]), { timeout: 10_000 });
    expect(screen.queryByText(/error:/)).toBeNull();
    // Later work still flows: a new quote shows in My.
    await quote(alice, "Birch");
    await waitFor(() => expect(items()).toContain("Birch:100"), { timeout: 5_000 });
  });
});
