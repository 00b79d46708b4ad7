// @vitest-environment happy-dom
import { readFileSync } from "node:fs";
import { act, fireEvent, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { start } from "../../examples/react-app.js";
import { client, relay } from "./fixture.js";

// The small app of docs/react.md, built on the published entry points (dist: `npm test` builds
// first), against a real relay.

describe("the small app of docs/react.md", () => {
  it("is in docs/react.md as it is in examples/react-app.tsx", () => {
    const code = readFileSync("examples/react-app.tsx", "utf8").split("\n").slice(3).join("\n");
    expect(readFileSync("docs/react.md", "utf8")).toContain(code.trim());
  });

  it("creates a quote, edits it, lists it in My and finds it in the catalogue", async () => {
    const r = await relay();
    const element = document.createElement("div");
    document.body.append(element);
    const token = await r.mintToken({ sub: "alice", org: "acme", roles: ["rep"], offline: true });
    const app = await act(() => start(element, { url: r.url, token, storage: "memory" }));
    try {
      await screen.findByText("✓ Sync complete", undefined, { timeout: 10_000 });
      await act(async () => screen.getByText("New quote").click());
      const project = await screen.findByLabelText("Project");
      fireEvent.change(project, { target: { value: "Lake house" } });
      await act(async () => screen.getByText("Add a window").click());
      await screen.findByText("Total $459.00");
      const mine = within(screen.getByRole("region", { name: "My quotes" }));
      await mine.findByText("Lake house · (no customer) · $459.00");

      // Another device of hers adds a line: the editor and the list follow.
      await app.sync.now();
      const phone = await client(r, "alice");
      const [row] = await phone.quotes.rows();
      const remote = await phone.quotes.open(row?.id as string);
      remote.change((q) => {
        q.customer.name = "Hansen Homes";
      });
      await mine.findByText("Lake house · Hansen Homes · $459.00", undefined, { timeout: 10_000 });
      await phone.sync.now();

      const all = within(screen.getByRole("region", { name: "All quotes" }));
      fireEvent.change(all.getByLabelText("Search"), { target: { value: "hansen" } });
      await all.findByText("Lake house · Hansen Homes · $459.00", undefined, { timeout: 10_000 });
    } finally {
      await app.close();
      element.remove();
    }
  });
});
