// The sync corner (bottom-right): what the connection is doing, the date of the last complete
// sync, what is not yet synced or was refused, and a Sync button. Built from the bindings'
// useSyncStatus and useGate rather than their <SyncStatusCorner/>, for two things this page
// needs: the corner sits in the page's flow (sticky, never over the last row of a list), and the
// age of the last sync is the gate's, on the client's clock (the demo clock moves it).
import { useClient, useGate, useSyncStatus } from "oms-sync/react";
import { useEffect, useState } from "react";
import { demoClock } from "../demo.js";
import { ago, dateTime, plural } from "../format.js";
import { useAction, useNotice } from "../notice.js";

export function StatusCorner() {
  const c = useClient();
  const s = useSyncStatus();
  const gate = useGate();
  const act = useAction();
  const notice = useNotice();
  // The age of the last sync moves on by itself.
  const [, tick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => tick((n) => n + 1), 30_000);
    return () => clearInterval(t);
  }, []);
  const last = s.lastCompleteSync ?? gate.lastSyncAt;
  const age = gate.ageMs ?? (last === null ? null : Math.max(0, demoClock.now() - last));
  // "Synced" shows in green only when the gate is content too: a quiet connection whose last
  // complete sync is old is not news to celebrate.
  const head =
    s.state === "syncing" || s.state === "connecting" ? (
      <>
        <progress
          data-testid="sync-progress"
          max={Math.max(1, s.progress.documentsTotal)}
          value={s.progress.documentsDone}
        />{" "}
        Syncing {s.progress.documentsDone}/{s.progress.documentsTotal}
      </>
    ) : s.state === "complete" && gate.level === "ok" ? (
      <span className="status-ok" data-testid="sync-complete">
        ✓ Synced
      </span>
    ) : s.state === "complete" ? (
      <span className="status-warn" data-testid="sync-connected">
        Connected — sync to refresh
      </span>
    ) : s.state === "offline" ? (
      <span data-testid="sync-offline">Offline — working on this device</span>
    ) : (
      <span className="reason">Sync error: {s.error?.message}</span>
    );
  return (
    <footer id="sync-status" data-testid="sync-status">
      <div className="status-text">
        <div>{head}</div>
        <div className="muted" data-testid="sync-last">
          {last === null
            ? "Last complete sync: never"
            : `Last complete sync: ${dateTime(last)} (${ago(age ?? 0)})`}
        </div>
        {(s.pendingDocuments > 0 || s.quarantined > 0) && (
          <div>
            {s.pendingDocuments > 0 && (
              <span data-testid="sync-pending">
                {plural(s.pendingDocuments, "document")} not yet synced
              </span>
            )}
            {s.pendingDocuments > 0 && s.quarantined > 0 && " · "}
            {s.quarantined > 0 && (
              <a href="#/quarantine" className="reason" data-testid="sync-quarantined">
                {plural(s.quarantined, "refused document")}
              </a>
            )}
          </div>
        )}
      </div>
      <button
        type="button"
        className="secondary"
        data-testid="sync-button"
        onClick={() =>
          act(async () => {
            await c.sync.now();
            notice("Sync complete.", "info");
          })
        }
      >
        Sync
      </button>
    </footer>
  );
}
