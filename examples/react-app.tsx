// A complete small app on oms-sync/react: My quotes, a search of every quote the user may read,
// a quote editor, the staleness banner and the sync corner. docs/react.md walks through it;
// tests/react/app.test.tsx runs it against a real relay.
import {
  addLineItem,
  type ClientOptions,
  type CurrencyCode,
  createClient,
  documentTotals,
  formatMoney,
  money,
  type OmsClient,
  setHeader,
  sortedLineItems,
} from "oms-sync";
import {
  GateBanner,
  type ListRow,
  OmsProvider,
  SyncStatusCorner,
  useClient,
  useGate,
  useQuote,
  useQuotes,
  useRetry,
} from "oms-sync/react";
import { Component, memo, type ReactNode, Suspense, useState } from "react";
import { createRoot } from "react-dom/client";

const total = (row: ListRow) =>
  row.total === null || row.currency === null
    ? ""
    : formatMoney(money(row.total, row.currency as CurrencyCode));

/** One row; `memo` and the rows' stable identity re-render it only when its quote changed. */
const QuoteRow = memo(function QuoteRow(props: { row: ListRow; onOpen: (id: string) => void }) {
  const { row, onOpen } = props;
  return (
    <li>
      <button type="button" onClick={() => onOpen(row.id)}>
        {row.project || "(no project)"} · {row.customer || "(no customer)"} · {total(row)}
      </button>
    </li>
  );
});

/** "My quotes": from the device, offline too, following every change. */
function MyQuotes(props: { onOpen: (id: string) => void }) {
  const { rows, loading } = useQuotes();
  if (loading) return <p>Loading…</p>;
  return (
    <section aria-label="My quotes">
      <h2>My quotes</h2>
      <ul>
        {rows.map((row) => (
          <QuoteRow key={row.id} row={row} onOpen={props.onOpen} />
        ))}
      </ul>
    </section>
  );
}

/** Every quote the user may read, from the relay's catalogue (connected only). */
function FindQuotes(props: { onOpen: (id: string) => void }) {
  const [q, setQ] = useState("");
  const found = useQuotes({ scope: "all", q, sort: "updated", limit: 20 });
  return (
    <section aria-label="All quotes">
      <h2>All quotes</h2>
      <input aria-label="Search" value={q} onChange={(e) => setQ(e.target.value)} />
      {found.error?.code === "OFFLINE" ? <p>Searching needs a connection.</p> : null}
      {found.error && found.error.code !== "OFFLINE" ? <p>{found.error.message}</p> : null}
      <ul>
        {found.rows.map((row) => (
          <QuoteRow key={row.id} row={row} onOpen={props.onOpen} />
        ))}
      </ul>
      {found.hasMore ? (
        <button type="button" onClick={found.loadMore} disabled={found.loadingMore}>
          More
        </button>
      ) : null}
    </section>
  );
}

/** One quote, edited in place; suspends while it opens. */
function QuoteEditor(props: { id: string; onError: (error: unknown) => void }) {
  const [quote, change] = useQuote(props.id);
  const canChangePrices = useGate((g) => g.isEnabled("changePrices"));
  // Validation and gate errors are thrown by change(): catch them where the user acted.
  const edit = (fn: Parameters<typeof change>[0]) => {
    try {
      change(fn);
    } catch (error) {
      props.onError(error);
    }
  };
  return (
    <section aria-label="Quote">
      <label>
        Project{" "}
        <input
          value={quote.projectName}
          onChange={(e) => edit((q) => setHeader(q, { projectName: e.target.value }))}
        />
      </label>
      <ul>
        {sortedLineItems(quote).map((line) => (
          <li key={line.id}>
            {line.quantity} × {line.productCode}
          </li>
        ))}
      </ul>
      <button
        type="button"
        disabled={!canChangePrices}
        onClick={() =>
          edit((q) => addLineItem(q, { productCode: "DH-3046", quantity: 1, unitPrice: 45_900 }))
        }
      >
        Add a window
      </button>
      <p>Total {formatMoney(documentTotals(quote).total)}</p>
    </section>
  );
}

/** What an open that failed shows, with a retry. */
function OpenFailed(props: { error: unknown; reset: () => void }) {
  const retry = useRetry();
  return (
    <p role="alert">
      {props.error instanceof Error ? props.error.message : String(props.error)}{" "}
      <button
        type="button"
        onClick={() => {
          retry();
          props.reset();
        }}
      >
        Try again
      </button>
    </p>
  );
}

class OpenBoundary extends Component<{ children: ReactNode }, { error: unknown }> {
  override state = { error: null as unknown };
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  override render() {
    if (this.state.error === null) return this.props.children;
    return <OpenFailed error={this.state.error} reset={() => this.setState({ error: null })} />;
  }
}

/** The app: everything below reads the client of the `<OmsProvider>` around it. */
export function App() {
  const client = useClient();
  const canCreate = useGate((g) => g.isEnabled("createQuote"));
  const [open, setOpen] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const report = (error: unknown) =>
    setProblem(error instanceof Error ? error.message : String(error));
  const create = () =>
    client.quotes.create({ currency: "USD" }).then((quote) => setOpen(quote.id), report);
  return (
    <main>
      <GateBanner />
      {problem ? <p role="alert">{problem}</p> : null}
      <button type="button" disabled={!canCreate} onClick={create}>
        New quote
      </button>
      <MyQuotes onOpen={setOpen} />
      <FindQuotes onOpen={setOpen} />
      {open ? (
        <OpenBoundary key={open}>
          <Suspense fallback={<p>Opening…</p>}>
            <QuoteEditor id={open} onError={report} />
          </Suspense>
        </OpenBoundary>
      ) : null}
      <SyncStatusCorner onSyncError={report} />
    </main>
  );
}

/**
 * Starts the client (async: it reads the session, or the device's copy offline), then renders
 * the app into `element`: `start(root, { url: "wss://relay.example.com", token })`.
 */
export async function start(element: HTMLElement, options: ClientOptions): Promise<OmsClient> {
  const client = await createClient(options);
  createRoot(element).render(
    <OmsProvider client={client}>
      <App />
    </OmsProvider>,
  );
  return client;
}
