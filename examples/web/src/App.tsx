// The page's frame: header with the views, the staleness banner, the view of the route, and the
// sync corner.
import {
  GateBanner,
  SyncStatusCorner,
  useClient,
  useGate,
  useInbox,
  useSyncStatus,
} from "oms-sync/react";
import { useState } from "react";
import { ViewFrame } from "./boundary.js";
import { type DemoUser, moveClock, signOut } from "./demo.js";
import { NoticeProvider, useNotice } from "./notice.js";
import { parseRoute, type Route, useHash } from "./route.js";
import { Assistance } from "./views/Assistance.js";
import { Catalogue } from "./views/Catalogue.js";
import { MyOrders, MyQuotes } from "./views/DocumentList.js";
import { Inbox } from "./views/Inbox.js";
import { OrderView } from "./views/OrderView.js";
import { Quarantine } from "./views/Quarantine.js";
import { QuoteEditor } from "./views/QuoteEditor.js";

export function App({ user }: { user: DemoUser }) {
  // Moving the demo clock changes what the gate says without any event: the page below is
  // mounted again, and every hook reads the gate afresh.
  const [epoch, setEpoch] = useState(0);
  const clock = (days: number) => {
    moveClock(days);
    setEpoch((e) => e + 1);
  };
  return <Page key={epoch} user={user} clock={clock} />;
}

/** The demo clock's buttons: days forward (0: back to the real time). */
const clockSteps = [
  [1, "+1 day"],
  [15, "+15 days"],
  [0, "reset"],
] as const;

function Page({ user, clock }: { user: DemoUser; clock: (days: number) => void }) {
  const client = useClient();
  return (
    <>
      <header>
        <strong>OMS</strong>
        <Nav />
        <span id="who">
          <span className="demo-clock">
            <span className="muted">Demo clock:</span>
            {clockSteps.map(([days, label]) => (
              <button
                key={days}
                type="button"
                className="secondary"
                data-testid={days === 0 ? "clock-reset" : `clock-${days}`}
                onClick={() => clock(days)}
              >
                {label}
              </button>
            ))}
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
        <GateBanner className="gate-banner" unstyled />
        <main>
          <View />
        </main>
        <Corner />
      </NoticeProvider>
    </>
  );
}

/**
 * The bindings' status corner, restyled by the page's stylesheet: in the page's flow (sticky), so
 * at the end of a list it sits below the last row instead of over it.
 */
function Corner() {
  const notice = useNotice();
  return (
    <SyncStatusCorner
      className="sync-corner"
      unstyled
      quarantineHref="#/quarantine"
      onSyncError={(error) => notice((error as Error).message)}
    />
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
  const route = parseRoute(useHash());
  const { unread } = useInbox();
  const refused = useSyncStatus((s) => s.quarantined);
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
  const hash = useHash();
  // What the gate disables is read while drawing: a new level draws the view again.
  useGate();
  return (
    <ViewFrame key={hash}>
      <RouteView route={parseRoute(hash)} />
    </ViewFrame>
  );
}

function RouteView({ route }: { route: Route }) {
  switch (route.view) {
    case "quote":
      return <QuoteEditor id={route.id} />;
    case "order":
      return <OrderView id={route.id} />;
    case "orders":
      return <MyOrders />;
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
      return <MyQuotes />;
  }
}
