// The shapes of `GET /v1/documents` (the relay's catalogue), shared by the relay and the client.

/** The kinds the catalogue lists. */
export const catalogueKinds = ["quote", "order", "assistance"] as const;
export type CatalogueKind = (typeof catalogueKinds)[number];

export const catalogueSorts = ["updated", "created", "customer", "total"] as const;
export type CatalogueSort = (typeof catalogueSorts)[number];

/** An order's submission state as the catalogue shows it (see `submissionState`). */
export const orderStates = ["draft", "pending", "submitted", "rejected"] as const;
export type OrderState = (typeof orderStates)[number];

/** One document as the catalogue lists it. */
export interface CatalogueEntry {
  id: string;
  kind: CatalogueKind;
  organization: string;
  owner: string;
  customer: string;
  /** The project name; an assistance request's subject. */
  project: string;
  currency: string | null;
  /** Integer minor units of `currency`; null for assistance requests (and a total beyond 2^53). */
  total: number | null;
  lines: number;
  /** Device clock of the document's creation and latest header or line edit. */
  createdAt: number;
  updatedAt: number;
  /** Orders only: draft, pending, submitted or rejected. */
  state: OrderState | null;
  /** Orders only, once a revision was accepted. */
  orderNumber: string | null;
  revision: number | null;
}

export interface CataloguePage {
  rows: CatalogueEntry[];
  /** The cursor of the next page, or null on the last one. */
  next: string | null;
}
