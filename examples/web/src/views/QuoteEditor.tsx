import { addLineItem, type CommercialDocument, type Quote } from "oms-sync";
import { useClient, useHandle } from "../live.js";
import { useAction } from "../notice.js";
import { go } from "../route.js";
import { ErrorCard, Loading, reasonFor } from "./common.js";
import { HeaderFields } from "./HeaderFields.js";
import { LinesTable } from "./LinesTable.js";

/** A quote, editable: header, lines, totals; converts to an order. */
export function QuoteEditor({ id }: { id: string }) {
  const c = useClient();
  const act = useAction();
  const { handle, doc, error } = useHandle(() => c.quotes.open(id), [c, id]);
  if (error) return <ErrorCard error={error} />;
  if (!handle || !doc) return <Loading />;
  const change = (fn: (d: Quote) => void) => handle.change(fn);
  const prices = reasonFor(c, "changePrices");
  const orders = reasonFor(c, "createOrder");
  return (
    <div className="card" data-testid="quote-editor">
      <h2>Quote</h2>
      <HeaderFields doc={doc} change={change} testids />
      <LinesTable doc={doc} change={change} />
      <p className="actions">
        <button
          type="button"
          data-testid="add-line"
          disabled={prices !== ""}
          title={prices || undefined}
          onClick={() => act(() => change(addDemoLine))}
        >
          Add line
        </button>
        <button
          type="button"
          data-testid="to-order"
          disabled={orders !== ""}
          title={orders || undefined}
          onClick={() =>
            act(async () => {
              const o = await c.orders.createFromQuote(handle.id);
              go("order", o.id);
            })
          }
        >
          Convert to order
        </button>
        <span className="reason">{prices}</span>
      </p>
    </div>
  );
}

/** The demo's catalogue has one product. */
export function addDemoLine(d: CommercialDocument): void {
  addLineItem(d, {
    productCode: "DH-3046",
    description: "Double hung",
    quantity: 1,
    unitPrice: 45_900,
  });
}
