export type { DerivedRow } from "../../docs/catalogue-row.js";
export { deriveRow } from "../../docs/catalogue-row.js";

/** The lowercase text `q` searches: customer, project and order number. */
export function searchText(customer: string, project: string, orderNumber: string | null): string {
  return `${customer}\n${project}\n${orderNumber ?? ""}`.toLowerCase();
}
