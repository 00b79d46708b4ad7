// @vitest-environment happy-dom
import { generateAutomergeUrl, parseAutomergeUrl } from "@automerge/automerge-repo";
import { act, render, renderHook, screen, waitFor } from "@testing-library/react";
import { Component, type ReactNode, StrictMode, Suspense } from "react";
import { describe, expect, it, vi } from "vitest";
import type { OmsDocumentHandle, OmsError, Quote } from "../../src/client/index.js";
import { addLineItem, setHeader, setNotes } from "../../src/docs/index.js";
import {
  OmsProvider,
  useChangesSinceSubmission,
  useDocument,
  useGate,
  useInbox,
  useLedger,
  useOrderState,
  useRetry,
  useSyncStatus,
  useTransmitted,
} from "../../src/react/index.js";
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

const counts = new Map<string, number>();
const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
const seen = (key: string) => counts.get(key) ?? 0;

function OrderStatus({ id }: { id: string }) {
  const state = useOrderState(id);
  count("state");
  return (
    <p>
      status:{state.status}
      {state.status === "submitted" ? ` number:${state.accepted.orderNumber}` : ""}
    </p>
  );
}

function Transmitted({ id }: { id: string }) {
  const sent = useTransmitted(id);
  count("sent");
  return <p>sent:{sent ? sent.projectName : "none"}</p>;
}

function FromHandle({ handle }: { handle: OmsDocumentHandle<Quote> }) {
  const [quote] = useDocument(handle);
  return <p>handle:{quote.projectName}</p>;
}

function OrderName({ id }: { id: string }) {
  const [order] = useDocument(id, "order");
  return <p>name:{order.projectName}</p>;
}

function Amendable({ id }: { id: string }) {
  const changes = useChangesSinceSubmission(id);
  const ledger = useLedger();
  return (
    <p>
      changes:{changes.length} outcomes:{Object.keys(ledger.submissions).length}
    </p>
  );
}

function Inbox() {
  const { messages, unread, markRead } = useInbox();
  return (
    <div>
      <p>unread:{unread}</p>
      {messages.map((m) => (
        <button type="button" key={m.id} onClick={() => void markRead(m.id)}>
          {m.subject}
        </button>
      ))}
    </div>
  );
}

class Boundary extends Component<{ children: ReactNode }, { error: unknown }> {
  override state = { error: null as unknown };
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  override render() {
    const { error } = this.state;
    return error ? <p>failed:{(error as OmsError).code}</p> : this.props.children;
  }
}

function Maybe({ id }: { id: string | null }) {
  const [quote, change] = useDocument(id, "quote");
  let thrown = "";
  try {
    change(() => undefined);
  } catch (e) {
    thrown = (e as OmsError).code;
  }
  return (
    <p>
      maybe:{quote ? quote.currency : "none"} {thrown}
    </p>
  );
}

describe("oms-sync/react against a real relay", () => {
  it("opens a quote (suspending), follows remote and local changes, and shows status and gate (in StrictMode)", async () => {
    const r = await relay();
    const laptop = await client(r, "alice");
    const phone = await client(r, "alice");
    await laptop.sync.now();
    const created = await phone.quotes.create({ currency: "USD", projectName: "Lake house" });
    await phone.sync.now();

    render(
      <StrictMode>
        <OmsProvider client={laptop}>
          <Suspense fallback={<p>opening</p>}>
            <ProjectName id={created.id} />
          </Suspense>
          <Status />
          <FromHandle handle={created} />
        </OmsProvider>
      </StrictMode>,
    );
    expect(screen.getByText("opening")).toBeTruthy();
    await screen.findByText("Lake house");
    // A handle in hand (from create or open) is read at once, never suspending.
    screen.getByText("handle:Lake house");
    await screen.findByText(/state:complete gate:ok create:true/);

    created.change((q) => setHeader(q, { projectName: "Lake house, phase 2" }));
    await screen.findByText("Lake house, phase 2", undefined, { timeout: 5_000 });
    screen.getByText("handle:Lake house, phase 2");

    await act(async () => screen.getByRole("button").click());
    expect(screen.getByRole("button").textContent).toBe("Boathouse");
    await waitFor(() => expect(created.doc().projectName).toBe("Boathouse"), { timeout: 5_000 });
  });

  it("follows an order from draft to submitted, shows what was transmitted, and the inbox", async () => {
    const r = await relay();
    const alice = await client(r, "alice");
    const order = await alice.orders.create({
      currency: "USD",
      customer: { name: "Hansen Homes" },
      projectName: "Lake house",
    });
    order.change((o) => addLineItem(o, { productCode: "DH-3046", quantity: 4, unitPrice: 45_900 }));
    render(
      <OmsProvider client={alice}>
        <Suspense fallback={<p>opening</p>}>
          <OrderStatus id={order.id} />
          <Transmitted id={order.id} />
          <OrderName id={order.id} />
          <Amendable id={order.id} />
          <Inbox />
        </Suspense>
      </OmsProvider>,
    );
    await screen.findByText("status:draft");
    screen.getByText("sent:none");

    await alice.orders.submit(order.id);
    await screen.findByText("status:pending");
    await alice.sync.now();
    await screen.findByText("status:submitted number:SO-000001", undefined, { timeout: 10_000 });
    await screen.findByText("sent:Lake house");
    screen.getByText("changes:0 outcomes:1");

    // Edits after the submission are changes since submission: neither view renders again.
    const before = { state: seen("state"), sent: seen("sent") };
    order.change((o) => setHeader(o, { projectName: "Lake house, phase 2" }));
    order.change((o) => setNotes(o, "second floor first"));
    await screen.findByText("name:Lake house, phase 2");
    expect(screen.getByText("sent:Lake house")).toBeTruthy();
    // …but they are changes to submit as an amendment.
    await screen.findByText(/^changes:[1-9]\d* outcomes:1$/);
    expect({ state: seen("state"), sent: seen("sent") }).toEqual(before);

    const message = await screen.findByText("Order SO-000001 accepted", undefined, {
      timeout: 10_000,
    });
    await screen.findByText("unread:1");
    await act(async () => message.click());
    await screen.findByText("unread:0");
  });

  it("throws a failed open to the error boundary, retries after useRetry, and handles a null id and a missing provider", async () => {
    // React reports each error a boundary catches on the console: expected here.
    const quiet = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const r = await relay();
    const alice = await client(r, "alice");
    await alice.sync.now();
    const view = render(
      <OmsProvider client={alice}>
        <Boundary>
          <Suspense fallback={<p>opening</p>}>
            <ProjectName id={parseAutomergeUrl(generateAutomergeUrl()).documentId} />
          </Suspense>
        </Boundary>
        <Maybe id={null} />
      </OmsProvider>,
    );
    await screen.findByText("failed:NOT_FOUND", undefined, { timeout: 10_000 });
    screen.getByText("maybe:none INVALID_INPUT");

    // An order's id asked for as a quote: NOT_FOUND too, saying what it is.
    const order = await alice.orders.create({ currency: "EUR" });
    const { result } = renderHook(() => useRetry(), {
      wrapper: ({ children }) => <OmsProvider client={alice}>{children}</OmsProvider>,
    });
    act(() => result.current());
    view.rerender(
      <OmsProvider client={alice}>
        <Boundary key="again">
          <Suspense fallback={<p>opening</p>}>
            <Maybe id={order.id} />
          </Suspense>
        </Boundary>
      </OmsProvider>,
    );
    await screen.findByText("failed:NOT_FOUND");
    const quote = await alice.quotes.create({ currency: "EUR" });
    view.rerender(
      <OmsProvider client={alice}>
        <Maybe id={quote.id} />
      </OmsProvider>,
    );
    await screen.findByText("maybe:EUR");

    expect(() => render(<Maybe id={null} />)).toThrow(/outside <OmsProvider>/);
    quiet.mockRestore();
  });

  it("keeps an unused document open for keepUnusedMs, then opens it again (suspending)", async () => {
    const r = await relay();
    const alice = await client(r, "alice");
    const quote = await alice.quotes.create({ currency: "USD", projectName: "Kept" });
    const open = vi.spyOn(alice.quotes, "open");
    // The provider's fallback is the Suspense boundary here.
    const app = (shown: boolean) => (
      <OmsProvider client={alice} options={{ keepUnusedMs: 1_000 }} fallback={<p>opening</p>}>
        {shown ? <ProjectName id={quote.id} /> : null}
      </OmsProvider>
    );
    const view = render(app(true));
    await screen.findByText("Kept");
    view.rerender(app(false));
    view.rerender(app(true));
    expect(screen.getByText("Kept")).toBeTruthy();
    expect(open).toHaveBeenCalledTimes(1);
    view.rerender(app(false));
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    view.rerender(app(true));
    expect(screen.getByText("opening")).toBeTruthy();
    await screen.findByText("Kept");
    expect(open).toHaveBeenCalledTimes(2);
  });
});
