// The line items of a quote or order, editable or as transmitted, and the totals.
import {
  type CommercialDocument,
  documentTotals,
  formatMoney,
  type LineItemId,
  removeLineItem,
  sortedLineItems,
  updateLineItem,
} from "oms-sync";
import { useGate } from "oms-sync/react";
import type { ReactNode } from "react";
import { CommitInput } from "../commit-input.js";
import { useAction } from "../notice.js";
import { reasonFor } from "./common.js";

type Field = "productCode" | "quantity" | "unitPrice" | "discountBp";

interface Props<T extends CommercialDocument> {
  doc: T;
  /** Writes the document; absent: read only. */
  change?: (fn: (d: T) => void) => void;
}

export function LinesTable<T extends CommercialDocument>({ doc, change }: Props<T>) {
  const gate = useGate();
  const act = useAction();
  const totals = documentTotals(doc);
  const pricesReason = change ? reasonFor(gate, "changePrices") : "read only";
  const set = (id: LineItemId, field: Field, raw: string) =>
    act(() => {
      const value =
        field === "productCode" ? raw : Math.round(Number(raw) * (field === "quantity" ? 1 : 100));
      change?.((d) => updateLineItem(d, id, { [field]: value }));
    });
  const money = (minor: number) => formatMoney({ currency: doc.currency, minor });
  /** A field of a line: an input written on commit, or the value as text when read only. */
  const edit = (
    id: LineItemId,
    field: Field,
    label: string,
    value: string,
    shown: ReactNode,
    props: { className?: string; min?: number; max?: number; step?: number; gated?: boolean } = {},
  ) => {
    if (!change) return shown;
    const { gated, ...rest } = props;
    return (
      <CommitInput
        {...rest}
        {...(field === "productCode" ? {} : { type: "number" })}
        aria-label={label}
        data-field={field}
        value={value}
        disabled={gated && pricesReason !== ""}
        title={(gated && pricesReason) || undefined}
        onCommit={(v) => set(id, field, v)}
      />
    );
  };
  return (
    <>
      <table className="lines" data-testid="lines">
        <thead>
          <tr>
            <th>Product</th>
            <th className="num">Qty</th>
            <th className="num">Unit price</th>
            <th className="num">Discount</th>
            <th className="num">Net</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {sortedLineItems(doc).map((l, i) => (
            <tr key={l.id} data-line={l.id}>
              <td data-label="Product">
                {edit(l.id, "productCode", "Product", l.productCode, l.productCode)}
              </td>
              <td className="num" data-label="Qty">
                {edit(l.id, "quantity", "Quantity", String(l.quantity), l.quantity, {
                  className: "qty",
                  min: 1,
                })}
              </td>
              <td className="num" data-label="Unit price">
                {edit(
                  l.id,
                  "unitPrice",
                  "Unit price",
                  (l.unitPrice / 100).toFixed(2),
                  money(l.unitPrice),
                  { className: "price", min: 0, step: 0.01, gated: true },
                )}
              </td>
              <td className="num" data-label="Discount">
                {edit(
                  l.id,
                  "discountBp",
                  "Discount",
                  (l.discountBp / 100).toFixed(2),
                  (l.discountBp / 100).toFixed(2),
                  { className: "disc", min: 0, max: 100, step: 0.01, gated: true },
                )}{" "}
                %
              </td>
              <td className="num" data-label="Net">
                {formatMoney(totals.lines[i]?.net ?? { currency: doc.currency, minor: 0 })}
              </td>
              <td className="row-actions">
                {change && (
                  <button
                    type="button"
                    className="secondary"
                    aria-label="Remove line"
                    onClick={() => act(() => change((d) => removeLineItem(d, l.id)))}
                  >
                    ✕
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <table className="totals">
        <tbody>
          <tr>
            <td className="num">Subtotal</td>
            <td className="num">{formatMoney(totals.subtotal)}</td>
          </tr>
          <tr>
            <td className="num">Discount</td>
            <td className="num">{formatMoney(totals.discount)}</td>
          </tr>
          <tr>
            <td className="num">
              <strong>Total</strong>
            </td>
            <td className="num" data-testid="total">
              <strong>{formatMoney(totals.total)}</strong>
            </td>
          </tr>
        </tbody>
      </table>
    </>
  );
}
