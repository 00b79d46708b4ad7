// The page's routes live in the URL's hash (#/quotes, #/order/<id>): a reload or a link from the
// inbox lands on the same view, and no server route is needed for a static build.
import { useSyncExternalStore } from "react";

export type Route =
  | { view: "quotes" | "orders" | "all-quotes" | "all-orders" }
  | { view: "assistance" | "inbox" | "quarantine" }
  | { view: "quote" | "order"; id: string };

const subscribe = (cb: () => void) => {
  window.addEventListener("hashchange", cb);
  return () => window.removeEventListener("hashchange", cb);
};

export function parseRoute(hash: string): Route {
  const [, view = "", id] = (hash || "#/quotes").split("/");
  if ((view === "quote" || view === "order") && id) return { view, id: decodeURIComponent(id) };
  switch (view) {
    case "orders":
    case "all-quotes":
    case "all-orders":
    case "assistance":
    case "inbox":
    case "quarantine":
      return { view };
    default:
      return { view: "quotes" };
  }
}

/** The hash, re-read on every change; components parse it. */
export function useHash(): string {
  return useSyncExternalStore(subscribe, () => location.hash);
}

export const href = (view: string, id?: string) =>
  id ? `#/${view}/${encodeURIComponent(id)}` : `#/${view}`;

export function go(view: string, id?: string): void {
  location.hash = href(view, id);
}
