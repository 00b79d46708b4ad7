// @vitest-environment happy-dom
import { act, render, screen, waitFor } from "@testing-library/react";
import { Suspense } from "react";
import { describe, expect, it } from "vitest";
import { setHeader } from "../../src/docs/index.js";
import { OmsProvider, useDocument, useGate, useSyncStatus } from "../../src/react/index.js";
import { client, relay } from "./fixture.js";

function ProjectName({ id }: { id: string }) {
  const [quote, change] = useDocument(id, "quote");
  return (
    <button type="button" onClick={() => change((q) => setHeader(q, { projectName: "Boathouse" }))}>
      {quote.projectName || "(no name)"}
    </button>
  );
}

function Status() {
  const state = useSyncStatus((s) => s.state);
  const gate = useGate();
  return (
    <p>
      state:{state} gate:{gate.level} create:{String(gate.isEnabled("createQuote"))}
    </p>
  );
}

describe("oms-sync/react against a real relay", () => {
  it("opens a quote (suspending), follows remote and local changes, and shows status and gate", async () => {
    const r = await relay();
    const laptop = await client(r, "alice");
    const phone = await client(r, "alice");
    await laptop.sync.now();
    const created = await phone.quotes.create({ currency: "USD", projectName: "Lake house" });
    await phone.sync.now();

    render(
      <OmsProvider client={laptop}>
        <Suspense fallback={<p>opening</p>}>
          <ProjectName id={created.id} />
        </Suspense>
        <Status />
      </OmsProvider>,
    );
    expect(screen.getByText("opening")).toBeTruthy();
    await screen.findByText("Lake house");
    await screen.findByText(/state:complete gate:ok create:true/);

    created.change((q) => setHeader(q, { projectName: "Lake house, phase 2" }));
    await screen.findByText("Lake house, phase 2", undefined, { timeout: 5_000 });

    await act(async () => screen.getByRole("button").click());
    expect(screen.getByRole("button").textContent).toBe("Boathouse");
    await waitFor(() => expect(created.doc().projectName).toBe("Boathouse"), { timeout: 5_000 });
  });
});
