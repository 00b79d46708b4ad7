import { addLineItem, type CommercialDocument } from "oms-sync";
import { useClient, useGate, useQuote } from "oms-sync/react";
import { useAction } from "../notice.js";
import { go } from "../route.js";
import { reasonFor } from "./common.js";
import { HeaderFields } from "./HeaderFields.js";
import { LinesTable } from "./LinesTable.js";

/** A quote, editable: header, lines, totals; converts to an order. */
export function QuoteEditor({ id }: { id: string }) {
  const c = useClient();
  const gate = useGate();
  const act = useAction();
  // Suspends while the quote opens; a failed open goes to the view's error boundary.
  const [quote, change, handle] = useQuote(id);
  const prices = reasonFor(gate, "changePrices");
  const orders = reasonFor(gate, "createOrder");
  return (
    <div className="card" data-testid="quote-editor">
      <h2>Quote</h2>
      <HeaderFields doc={quote} change={change} testids />
      <LinesTable doc={quote} change={change} />
      <p className="actions">
        <AddLine change={change} testid="add-line" />
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

/** Adds the demo's product; disabled, with the reason, while the gate disables price changes. */
export function AddLine({
  change,
  testid,
}: {
  change: (fn: (d: CommercialDocument) => void) => void;
  testid?: string;
}) {
  const gate = useGate();
  const act = useAction();
  const prices = reasonFor(gate, "changePrices");
  return (
    <button
      type="button"
      data-testid={testid}
      disabled={prices !== ""}
      title={prices || undefined}
      onClick={() => act(() => change(addDemoLine))}
    >
      Add line
    </button>
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
