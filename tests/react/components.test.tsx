// @vitest-environment happy-dom
import { act, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { setHeader } from "../../src/docs/index.js";
import { DAY_MS } from "../../src/policy/index.js";
import { GateBanner, OmsProvider, SyncStatusCorner, useQuarantine } from "../../src/react/index.js";
import { createManualClock } from "../../src/testing/index.js";
import { client, relay, reopen } from "./fixture.js";

const text = (id: string) => screen.getByTestId(id).textContent;

function Refused() {
  const { entries, discard } = useQuarantine();
  return (
    <ul>
      {entries.map((e) => (
        <li key={e.documentId}>
          {e.reasons[0]?.code}
          <button type="button" onClick={() => void discard(e.documentId)}>
            discard
          </button>
        </li>
      ))}
    </ul>
  );
}

describe("components", () => {
  it("the corner and the banner: complete, offline, warned, blocked, synced again", async () => {
    let r = await relay();
    const t0 = Date.now();
    const clock = createManualClock(t0);
    const alice = await client(r, "alice", { clock });
    await alice.sync.now();
    render(
      <OmsProvider client={alice}>
        <GateBanner />
        <SyncStatusCorner />
      </OmsProvider>,
    );
    await screen.findByText("✓ Sync complete");
    expect(text("sync-last")).toMatch(/^Last complete sync: .+ \(just now\)$/);
    expect(screen.getByTestId("sync-status").dataset.state).toBe("complete");
    expect(screen.getByTestId("gate-banner").hidden).toBe(true);
    expect(text("gate-banner")).toBe("");

    await r.close();
    await screen.findByText("Offline — working on this device");
    expect(screen.getByTestId("sync-status").dataset.state).toBe("offline");
    // Work goes on offline, and goes up with the next sync.
    const quote = await alice.quotes.create({ currency: "USD" });
    quote.change((q) => setHeader(q, { projectName: "Lake house" }));

    act(() => clock.set(t0 + 11 * DAY_MS));
    await waitFor(() => expect(screen.getByTestId("gate-banner").dataset.level).toBe("warn"));
    expect(text("gate-banner")).toBe(
      "No complete sync for 11 days: sync within 3 days or some functions will be disabled.",
    );
    expect(text("sync-last")).toMatch(/\(11 days ago\)$/);

    act(() => clock.set(t0 + 15 * DAY_MS));
    await screen.findByRole("alert");
    expect(text("gate-banner")).toMatch(/disabled until you sync\.$/);

    r = await reopen(r);
    await act(async () => screen.getByTestId("sync-button").click());
    await screen.findByText("✓ Sync complete", undefined, { timeout: 10_000 });
    await waitFor(() => expect(text("gate-banner")).toBe(""));
    expect(screen.queryByTestId("sync-pending")).toBeNull();
    expect(text("sync-last")).toMatch(/\(just now\)$/);
    expect(r.repo.handles[quote.id as never]).toBeDefined();
  });

  it("restyles through className, classNames and unstyled", async () => {
    const r = await relay();
    const alice = await client(r, "alice");
    render(
      <OmsProvider client={alice}>
        <SyncStatusCorner className="corner" classNames={{ button: "btn" }} unstyled />
        <GateBanner className="banner" />
      </OmsProvider>,
    );
    const corner = screen.getByTestId("sync-status");
    expect(corner.className).toBe("corner");
    expect(corner.getAttribute("style")).toBeNull();
    expect(screen.getByTestId("sync-button").className).toBe("btn");
    expect(screen.getByTestId("sync-last").className).toBe("corner__last");
    expect(screen.getByTestId("gate-banner").className).toBe("banner");
  });

  it("a refused change: the corner counts it, useQuarantine lists it, discard clears both", async () => {
    const r = await relay();
    const alice = await client(r, "alice");
    const quote = await alice.quotes.create({ currency: "USD", projectName: "Lake house" });
    await alice.sync.now();
    render(
      <OmsProvider client={alice}>
        <SyncStatusCorner quarantineHref="#/quarantine" />
        <Refused />
      </OmsProvider>,
    );
    await r.admin.reassign(quote.id, "bob", "territory change");
    quote.change((q) => setHeader(q, { projectName: "Lake house, second floor" }));
    await screen.findByText("1 refused document", undefined, { timeout: 10_000 });
    expect(screen.getByTestId("sync-quarantined").getAttribute("href")).toBe("#/quarantine");
    await screen.findByText("ACCESS_REVOKED");
    await act(async () => screen.getByText("discard").click());
    await waitFor(() => expect(screen.queryByTestId("sync-quarantined")).toBeNull());
    expect(screen.queryAllByRole("listitem")).toEqual([]);
  });
});
