import {
  documentTotals,
  formatMoney,
  type Ledger,
  type Order,
  type Quote,
  submissionState,
} from "oms-sync";
import { useClient, useLive } from "../live.js";
import { useAction } from "../notice.js";
import { go, href } from "../route.js";
import { ErrorCard, Loading, reasonFor, StatusBadge, stable } from "./common.js";

/** "My quotes" / "My orders": the user's own, from the device when offline. */
export function DocumentList({ kind }: { kind: "quotes" | "orders" }) {
  const c = useClient();
  const act = useAction();
  const { value, error } = useLive(
    async () => {
      const items = stable<{ id: string; doc: Quote | Order }>(
        kind === "quotes" ? await c.quotes.list() : await c.orders.list(),
      );
      const ledger: Ledger | undefined =
        kind === "orders" ? await c.ledger.get().catch(() => undefined) : undefined;
      return { items, ledger };
    },
    (again) => c.sync.subscribe(again),
    [c, kind],
  );
  if (error) return <ErrorCard error={error} />;
  const create = reasonFor(c, "createQuote");
  const single = kind.slice(0, -1);
  return (
    <div className="card">
      <div className="title-row">
        <h2>My {kind}</h2>
        {kind === "quotes" && (
          <p className="actions">
            <button
              type="button"
              data-testid="new-quote"
              disabled={create !== ""}
              title={create || undefined}
              onClick={() =>
                act(async () => {
                  const q = await c.quotes.create({ currency: "USD", projectName: "New project" });
                  go("quote", q.id);
                })
              }
            >
              New quote
            </button>{" "}
            <span className="reason">{create}</span>
          </p>
        )}
      </div>
      {!value ? (
        <Loading />
      ) : (
        <table className="list" data-testid={`${kind}-list`}>
          <thead>
            <tr>
              <th>Project</th>
              {kind === "orders" && <th>Status</th>}
              <th>Customer</th>
              <th className="num">Lines</th>
              <th className="num">Total</th>
            </tr>
          </thead>
          <tbody>
            {value.items.length === 0 && (
              <tr>
                <td colSpan={kind === "orders" ? 5 : 4} className="muted">
                  None yet.
                </td>
              </tr>
            )}
            {value.items.map(({ id, doc }) => (
              <tr key={id}>
                <td data-label="Project">
                  <a href={href(single, id)} data-testid={`open-${id}`}>
                    {doc.projectName || "(untitled)"}
                  </a>
                </td>
                {kind === "orders" && (
                  <td data-label="Status">
                    <StatusBadge state={submissionState(id as never, doc as Order, value.ledger)} />
                  </td>
                )}
                <td data-label="Customer">{doc.customer.name}</td>
                <td className="num" data-label="Lines">
                  {Object.keys(doc.lineItems).length}
                </td>
                <td className="num" data-label="Total">
                  {formatMoney(documentTotals(doc).total)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
