// The page's frame: header with the views, the staleness banner, the view of the route, and the
// sync corner.
import type { OmsClient } from "oms-sync";
import { useState } from "react";
import { type DemoUser, moveClock, signOut } from "./demo.js";
import { ClientContext, useClient, useGate, useLive, useSyncStatus } from "./live.js";
import { NoticeProvider } from "./notice.js";
import { parseRoute, type Route, useHash } from "./route.js";
import { GateBanner } from "./status/GateBanner.js";
import { StatusCorner } from "./status/StatusCorner.js";
import { Assistance } from "./views/Assistance.js";
import { Catalogue } from "./views/Catalogue.js";
import { DocumentList } from "./views/DocumentList.js";
import { Inbox } from "./views/Inbox.js";
import { OrderView } from "./views/OrderView.js";
import { Quarantine } from "./views/Quarantine.js";
import { QuoteEditor } from "./views/QuoteEditor.js";

export function App({ client, user }: { client: OmsClient; user: DemoUser }) {
  // Moving the demo clock changes what the gate says without any event: everything below is
  // drawn again from scratch.
  const [epoch, setEpoch] = useState(0);
  const clock = (days: number) => {
    moveClock(days);
    setEpoch((e) => e + 1);
  };
  return (
    <ClientContext.Provider value={client}>
      <header>
        <strong>OMS</strong>
        <Nav />
        <span id="who">
          <span className="demo-clock">
            <span className="muted">Demo clock:</span>
            <button
              type="button"
              className="secondary"
              data-testid="clock-1"
              onClick={() => clock(1)}
            >
              +1 day
            </button>
            <button
              type="button"
              className="secondary"
              data-testid="clock-15"
              onClick={() => clock(15)}
            >
              +15 days
            </button>
            <button
              type="button"
              className="secondary"
              data-testid="clock-reset"
              onClick={() => clock(0)}
            >
              reset
            </button>
          </span>
          <span className="user">
            {user.name} · {user.org}{" "}
            <button
              type="button"
              className="secondary"
              onClick={() => void client.close().finally(signOut)}
            >
              Sign out
            </button>
          </span>
        </span>
      </header>
      <NoticeProvider>
        <GateBanner key={`banner-${epoch}`} />
        <main>
          <View key={epoch} />
        </main>
        <StatusCorner key={`corner-${epoch}`} />
      </NoticeProvider>
    </ClientContext.Provider>
  );
}

const links: { view: Route["view"]; label: string; also?: Route["view"] }[] = [
  { view: "quotes", label: "Quotes", also: "quote" },
  { view: "orders", label: "Orders", also: "order" },
  { view: "all-quotes", label: "All quotes" },
  { view: "all-orders", label: "All orders" },
  { view: "assistance", label: "Assistance" },
  { view: "inbox", label: "Inbox" },
];

function Nav() {
  const c = useClient();
  const route = parseRoute(useHash());
  const status = useSyncStatus();
  const { value: messages } = useLive(
    () => c.inbox.messages(),
    (again) => c.sync.subscribe(again),
    [c, route.view],
  );
  const unread = messages?.filter((m) => !m.read).length ?? 0;
  const refused = status.quarantined;
  return (
    <nav id="nav" aria-label="Views">
      {links.map((l) => (
        <a
          key={l.view}
          href={`#/${l.view}`}
          className={route.view === l.view || route.view === l.also ? "active" : ""}
          data-testid={`nav-${l.view}`}
        >
          {l.label}
          {l.view === "inbox" && unread > 0 ? ` (${unread})` : ""}
        </a>
      ))}
      {(refused > 0 || route.view === "quarantine") && (
        <a
          href="#/quarantine"
          className={route.view === "quarantine" ? "active" : ""}
          data-testid="nav-quarantine"
        >
          Refused ({refused})
        </a>
      )}
    </nav>
  );
}

function View() {
  const route = parseRoute(useHash());
  // What the gate disables is read while drawing: a new level draws the view again.
  useGate();
  switch (route.view) {
    case "quote":
      return <QuoteEditor key={route.id} id={route.id} />;
    case "order":
      return <OrderView key={route.id} id={route.id} />;
    case "orders":
      return <DocumentList kind="orders" />;
    case "all-quotes":
      return <Catalogue key="quote" kind="quote" />;
    case "all-orders":
      return <Catalogue key="order" kind="order" />;
    case "assistance":
      return <Assistance />;
    case "inbox":
      return <Inbox />;
    case "quarantine":
      return <Quarantine />;
    default:
      return <DocumentList kind="quotes" />;
  }
}
