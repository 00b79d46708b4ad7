import { type ListResult, useClient, useGate, useOrders, useQuotes } from "oms-sync/react";
import { useAction } from "../notice.js";
import { go } from "../route.js";
import { ErrorNote, Loading, reasonFor } from "./common.js";
import { DocumentRow } from "./DocumentRow.js";

/** Newest first, as every device shows them. */
const newestFirst = { sort: "created", order: "desc" } as const;

/** "My quotes": the user's own, from the device (offline too), followed. */
export const MyQuotes = () => <DocumentList kind="quotes" list={useQuotes(newestFirst)} />;

/** "My orders", each with its number or state. */
export const MyOrders = () => <DocumentList kind="orders" list={useOrders(newestFirst)} />;

function DocumentList({ kind, list }: { kind: "quotes" | "orders"; list: ListResult }) {
  const c = useClient();
  const gate = useGate();
  const act = useAction();
  const create = reasonFor(gate, "createQuote");
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
      {list.error && <ErrorNote error={list.error} />}
      {list.loading ? (
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
            {list.rows.length === 0 && (
              <tr>
                <td colSpan={kind === "orders" ? 5 : 4} className="muted">
                  None yet.
                </td>
              </tr>
            )}
            {list.rows.map((row) => (
              <DocumentRow key={row.id} row={row} kind={kind === "quotes" ? "quote" : "order"} />
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
