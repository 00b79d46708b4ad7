import { type CSSProperties, type ReactElement, type ReactNode, useState } from "react";
import type { SyncStatus } from "../client/index.js";
import { ago, dateTime, plural } from "./format.js";
import { useClient } from "./provider.js";
import { useNow } from "./use-now.js";
import { useGate, useSyncStatus } from "./use-sync.js";

/** Parts of the corner a stylesheet can target through `classNames`. */
export type SyncStatusCornerPart =
  | "head"
  | "progress"
  | "last"
  | "counts"
  | "pending"
  | "quarantined"
  | "button";

/** Props of {@link SyncStatusCorner}. */
export interface SyncStatusCornerProps {
  /** The root's class; default `oms-sync-corner`. The root also carries `data-state` and `data-gate`. */
  className?: string;
  /** Classes of the parts (the root's default class plus `__part` otherwise, BEM style). */
  classNames?: Partial<Record<SyncStatusCornerPart, string>>;
  /** Merged over the default style (fixed to the bottom-right corner, small, on white). */
  style?: CSSProperties;
  /** No inline style at all: the stylesheet does everything. */
  unstyled?: boolean;
  /** Shows a Sync button that calls `client.sync.now()`; default true. */
  showButton?: boolean;
  /** Told when the Sync button's sync fails (`OFFLINE`, `AUTH_…`); the status shows it too. */
  onSyncError?: (error: unknown) => void;
  /** Where the "N refused documents" link goes (a route of the app's quarantine page). */
  quarantineHref?: string;
  /** The date of the last complete sync as text; default: medium date, short time, user's locale. */
  formatTime?: (time: number) => string;
  /** Replaces the whole first line (state, icon or progress bar). */
  renderHead?: (status: SyncStatus) => ReactNode;
}

const cornerStyle: CSSProperties = {
  position: "fixed",
  right: "1rem",
  bottom: "1rem",
  display: "flex",
  gap: "0.75rem",
  alignItems: "center",
  padding: "0.5rem 0.75rem",
  font: "13px/1.4 system-ui, sans-serif",
  background: "#fff",
  border: "1px solid #d0d7de",
  borderRadius: "6px",
  boxShadow: "0 1px 3px rgba(0,0,0,.12)",
  maxWidth: "calc(100vw - 2rem)",
  zIndex: 1000,
};

/**
 * The sync status as a small corner, bottom-right: a progress bar while syncing, "✓ Sync complete"
 * when complete (and the gate is content: an old last sync is not news to celebrate), "Offline
 * — working on this device", or the error; the date of the last complete sync and how long ago;
 * documents not yet synced and refused documents; and a Sync button. Restyle it with
 * `className`/`classNames` (and `unstyled`), or build your own from `useSyncStatus()`.
 *
 * @example
 * ```tsx
 * <SyncStatusCorner quarantineHref="#/quarantine" onSyncError={(e) => toast(String(e))} />
 * ```
 */
export function SyncStatusCorner(props: SyncStatusCornerProps): ReactElement {
  const client = useClient();
  const status = useSyncStatus();
  const gate = useGate();
  const now = useNow(30_000);
  const [asked, setAsked] = useState(false);
  const base = props.className ?? "oms-sync-corner";
  const cls = (part: SyncStatusCornerPart) => props.classNames?.[part] ?? `${base}__${part}`;
  const format = props.formatTime ?? dateTime;
  const last = status.lastCompleteSync ?? gate.lastSyncAt;
  // The gate's age counts too: it runs on the client's clock and never goes down when the
  // device's clock is set back.
  const sinceGate = Math.max(0, now - gate.observedAt);
  const age = last === null ? null : Math.max(0, now - last, (gate.ageMs ?? 0) + sinceGate);
  const sync = () => {
    setAsked(true);
    client.sync
      .now()
      .catch((error: unknown) => props.onSyncError?.(error))
      .finally(() => setAsked(false));
  };
  return (
    <div
      className={base}
      data-testid="sync-status"
      data-state={status.state}
      data-gate={gate.level}
      role="status"
      aria-live="polite"
      style={props.unstyled ? undefined : { ...cornerStyle, ...props.style }}
    >
      <div>
        <div className={cls("head")}>
          {props.renderHead ? (
            props.renderHead(status)
          ) : (
            <Head status={status} gate={gate.level} progressClass={cls("progress")} />
          )}
        </div>
        <div className={cls("last")} data-testid="sync-last">
          {last === null
            ? "Last complete sync: never"
            : `Last complete sync: ${format(last)} (${ago(age ?? 0)})`}
        </div>
        {status.pendingDocuments > 0 || status.quarantined > 0 ? (
          <div className={cls("counts")}>
            {status.pendingDocuments > 0 ? (
              <span className={cls("pending")} data-testid="sync-pending">
                {plural(status.pendingDocuments, "document")} not yet synced
              </span>
            ) : null}
            {status.pendingDocuments > 0 && status.quarantined > 0 ? " · " : null}
            {status.quarantined > 0 ? (
              <a
                className={cls("quarantined")}
                data-testid="sync-quarantined"
                {...(props.quarantineHref ? { href: props.quarantineHref } : {})}
              >
                {plural(status.quarantined, "refused document")}
              </a>
            ) : null}
          </div>
        ) : null}
      </div>
      {props.showButton === false ? null : (
        <button
          type="button"
          className={cls("button")}
          data-testid="sync-button"
          disabled={asked}
          onClick={sync}
        >
          Sync
        </button>
      )}
    </div>
  );
}

function Head(props: { status: SyncStatus; gate: string; progressClass: string }): ReactNode {
  const { status } = props;
  const { documentsDone, documentsTotal } = status.progress;
  if (status.state === "syncing" || status.state === "connecting")
    return (
      <>
        <progress
          className={props.progressClass}
          data-testid="sync-progress"
          max={Math.max(1, documentsTotal)}
          value={documentsDone}
        />{" "}
        Syncing {documentsDone}/{documentsTotal}
      </>
    );
  if (status.state === "complete" && props.gate === "ok")
    return <span data-testid="sync-complete">✓ Sync complete</span>;
  if (status.state === "complete")
    return <span data-testid="sync-connected">Connected — sync to refresh</span>;
  if (status.state === "offline")
    return <span data-testid="sync-offline">Offline — working on this device</span>;
  return <span data-testid="sync-error">Sync error: {status.error?.message ?? "unknown"}</span>;
}
