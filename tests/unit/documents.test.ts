import * as A from "@automerge/automerge";
import { describe, expect, it } from "vitest";
import {
  addLineItem,
  addSubmissionRequest,
  asDocId,
  asOrganizationId,
  asUserId,
  checkDocument,
  checkOrderComplete,
  convertQuoteToOrder,
  createAssistanceRequest,
  createOrder,
  createQuote,
  documentTotals,
  type LineItemId,
  moveLineItem,
  type Order,
  type Quote,
  removeLineItem,
  setHeader,
  setNotes,
  sortedLineItems,
  updateLineItem,
  ValidationError,
} from "../../src/docs/index.js";

const owner = asUserId("alice");
const organization = asOrganizationId("acme");
const quote = () =>
  A.from(
    createQuote({ owner, organization, currency: "USD", now: 1 }) as unknown as Record<
      string,
      unknown
    >,
  ) as A.Doc<Quote>;

function withLines(n: number): { doc: A.Doc<Quote>; ids: LineItemId[] } {
  const ids: LineItemId[] = [];
  const doc = A.change(quote(), (d) => {
    for (let i = 0; i < n; i++)
      ids.push(addLineItem(d, { productCode: `P${i}`, quantity: 1, unitPrice: 100 }));
  });
  return { doc, ids };
}

describe("mutations", () => {
  it("refuse bad input with a typed error that names the field, and write nothing", () => {
    const doc = quote();
    const headsBefore = A.getHeads(doc);
    let error: unknown;
    try {
      A.change(doc, (d) => {
        addLineItem(d, { productCode: "X", quantity: -3, unitPrice: 100 });
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).code).toBe("INVALID_INPUT");
    expect((error as ValidationError).message).toBe(
      "quantity: quantity must be a positive whole number, got -3",
    );
    expect(A.getHeads(doc)).toEqual(headsBefore);
    expect(Object.keys(doc.lineItems)).toEqual([]);
  });

  it("report every bad field at once", () => {
    const { doc, ids } = withLines(1);
    try {
      A.change(doc, (d) =>
        updateLineItem(d, ids[0] as LineItemId, {
          quantity: 1.5,
          unitPrice: -1,
          discountBp: 20_000,
        }),
      );
      expect.unreachable();
    } catch (e) {
      expect((e as ValidationError).violations.map((v) => v.path[0])).toEqual([
        "quantity",
        "unitPrice",
        "discountBp",
      ]);
    }
    expect(doc.lineItems[ids[0] as LineItemId]?.quantity).toBe(1);
  });

  it("add at an index, move and remove lines in order", () => {
    const { doc, ids } = withLines(3);
    const [a, b, c] = ids as [LineItemId, LineItemId, LineItemId];
    let x = "" as LineItemId;
    const next = A.change(doc, (d) => {
      x = addLineItem(d, { productCode: "X", quantity: 1, unitPrice: 1 }, { index: 1 });
      moveLineItem(d, c, 0);
      removeLineItem(d, b);
    });
    expect(sortedLineItems(next).map((l) => l.id)).toEqual([c, a, x]);
    expect(checkDocument(next)).toEqual([]);
  });

  it("keeps the requested order when two lines share a position", () => {
    const { doc } = withLines(1);
    const left = A.change(A.clone(doc), (d) =>
      addLineItem(d, { productCode: "L", quantity: 1, unitPrice: 1 }),
    );
    const right = A.change(A.clone(doc), (d) =>
      addLineItem(d, { productCode: "R", quantity: 1, unitPrice: 1 }),
    );
    const merged = A.merge(left, right);
    const lines = sortedLineItems(merged);
    expect(lines[1]?.position).toBe(lines[2]?.position);
    // Insert between the two tied lines.
    const after = A.change(merged, (d) =>
      addLineItem(d, { productCode: "M", quantity: 1, unitPrice: 1 }, { index: 2 }),
    );
    expect(sortedLineItems(after).map((l) => l.productCode)).toEqual([
      "P0",
      lines[1]?.productCode,
      "M",
      lines[2]?.productCode,
    ]);
  });

  it("update only what changed and fail clearly on a removed line", () => {
    const { doc, ids } = withLines(1);
    const id = ids[0] as LineItemId;
    const next = A.change(doc, (d) =>
      updateLineItem(d, id, { options: { color: "white", hinge: null } }),
    );
    expect(next.lineItems[id]?.options).toEqual({ color: "white" });
    const gone = A.change(next, (d) => removeLineItem(d, id));
    expect(() => A.change(gone, (d) => updateLineItem(d, id, { quantity: 2 }))).toThrow(
      expect.objectContaining({ code: "NOT_FOUND" }),
    );
  });

  it("edit header and notes", () => {
    let doc = A.change(quote(), (d) =>
      setHeader(d, { customer: { name: "Hansen Homes" }, projectName: "Lake house" }),
    );
    doc = A.change(doc, (d) => setNotes(d, "Deliver to site"));
    expect(doc.customer).toEqual({ name: "Hansen Homes", contact: "" });
    expect(doc.notes).toBe("Deliver to site");
    expect(() => A.change(doc, (d) => setHeader(d, { projectName: "x".repeat(501) }))).toThrow(
      /at most 500/,
    );
  });
});

describe("orders", () => {
  it("convert a quote, keeping lines and totals, and naming the source", () => {
    const { doc } = withLines(2);
    const order = convertQuoteToOrder(doc, { quoteId: asDocId("q1"), now: 5 });
    expect(checkDocument(order)).toEqual([]);
    expect(order.sourceQuote).toBe("q1");
    expect(documentTotals(order)).toEqual(documentTotals(doc));
  });

  it("need a customer and a line to be complete", () => {
    const order = createOrder({ owner, organization, currency: "USD" });
    expect(checkOrderComplete(order).map((p) => p.path.join("."))).toEqual([
      "customer.name",
      "lineItems",
    ]);
  });

  it("record submission requests with their heads", () => {
    let doc = A.from(
      createOrder({ owner, organization, currency: "USD" }) as unknown as Record<string, unknown>,
    ) as A.Doc<Order>;
    const heads = A.getHeads(doc);
    let requestId = "";
    doc = A.change(doc, (d) => {
      requestId = addSubmissionRequest(d, { requestedBy: owner, heads, lastSyncAt: null, now: 9 });
    });
    expect(doc.submissions[requestId as never]).toEqual({
      requestedBy: owner,
      requestedAt: 9,
      heads,
      lastSyncAt: null,
      lastSyncReceipt: null,
    });
    expect(() =>
      A.change(doc, (d) =>
        addSubmissionRequest(d, { requestedBy: owner, heads: ["nope"], lastSyncAt: null }),
      ),
    ).toThrow(ValidationError);
  });
});

describe("totals", () => {
  it("refuse with AMOUNT_OVERFLOW rather than return an inexact total", () => {
    const max = { productCode: "X", quantity: 100_000, unitPrice: 1_000_000_000 };
    const { doc } = withLines(0);
    const big = A.change(doc, (d) => {
      for (let i = 0; i < 91; i++) addLineItem(d, max);
    });
    expect(checkDocument(big)).toEqual([]);
    expect(() => documentTotals(big)).toThrow(expect.objectContaining({ code: "AMOUNT_OVERFLOW" }));
    const fits = A.change(withLines(0).doc, (d) => {
      for (let i = 0; i < 90; i++) addLineItem(d, max);
    });
    expect(documentTotals(fits).total.minor).toBe(90 * 100_000 * 1_000_000_000);
  });
});

describe("the schema check", () => {
  it("reports each violation with its path", () => {
    const doc = JSON.parse(JSON.stringify(createQuote({ owner, organization, currency: "USD" })));
    doc.lineItems.abc = {
      productCode: "X",
      description: "",
      options: {},
      quantity: 0,
      unitPrice: 1.5,
      discountBp: 0,
      position: "a0",
    };
    doc.currency = "dollars";
    const problems = checkDocument(doc);
    expect(problems.map((p) => p.path.join("."))).toEqual([
      "currency",
      "lineItems.abc.quantity",
      "lineItems.abc.unitPrice",
    ]);
  });

  it("refuses unknown kinds and non-objects", () => {
    expect(checkDocument({ kind: "invoice" })[0]?.message).toMatch(/kind must be one of/);
    expect(checkDocument(null)[0]?.message).toMatch(/must be an object/);
  });

  it("accepts extra fields an embedding OMS adds", () => {
    const doc = {
      ...createQuote({ owner, organization, currency: "USD" }),
      dealerReference: "D-77",
    };
    expect(checkDocument(doc)).toEqual([]);
  });

  it("validates assistance requests", () => {
    const req = createAssistanceRequest({
      owner,
      organization,
      subject: "Sizing",
      related: { kind: "quote", id: asDocId("q1") },
    });
    expect(checkDocument(req)).toEqual([]);
    expect(() =>
      createAssistanceRequest({ owner, organization, subject: 5 as unknown as string }),
    ).toThrow(/subject must be text/);
  });
});
