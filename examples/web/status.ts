// The sync corner (bottom-right) and the staleness banner.
import type { GateState, SyncStatus } from "../../src/client/index.js";
import { $, ago, dateTime, esc, plural } from "./ui.js";

/**
 * What the corner says. "Synced" shows in green only when the gate is content too: a quiet
 * connection whose last complete sync is old is not news to celebrate.
 */
export function renderSync(s: SyncStatus, gate: GateState, now: number): void {
  const last = s.lastCompleteSync ?? gate.lastSyncAt;
  const age = gate.ageMs ?? (last === null ? null : Math.max(0, now - last));
  const head =
    s.state === "syncing" || s.state === "connecting"
      ? `<progress data-testid="sync-progress" max="${Math.max(1, s.progress.documentsTotal)}" value="${s.progress.documentsDone}"></progress> Syncing ${s.progress.documentsDone}/${s.progress.documentsTotal}`
      : s.state === "complete" && gate.level === "ok"
        ? `<span class="status-ok" data-testid="sync-complete">✓ Synced</span>`
        : s.state === "complete"
          ? `<span class="status-warn" data-testid="sync-connected">Connected — sync to refresh</span>`
          : s.state === "offline"
            ? `<span data-testid="sync-offline">Offline — working on this device</span>`
            : `<span class="reason">Sync error: ${esc(s.error?.message)}</span>`;
  const lastLine =
    last === null
      ? "Last complete sync: never"
      : `Last complete sync: ${esc(dateTime(last))} (${esc(ago(age ?? 0))})`;
  const pending =
    s.pendingDocuments > 0
      ? `<span data-testid="sync-pending">${plural(s.pendingDocuments, "document")} not yet synced</span>`
      : "";
  const refused =
    s.quarantined > 0
      ? `<a href="#/quarantine" class="reason" data-testid="sync-quarantined">${plural(s.quarantined, "refused document")}</a>`
      : "";
  $("sync-status").innerHTML = `<div class="status-text"><div>${head}</div>
    <div class="muted" data-testid="sync-last">${lastLine}</div>
    ${pending || refused ? `<div>${[pending, refused].filter(Boolean).join(" · ")}</div>` : ""}</div>
    <button class="secondary" data-action="sync" data-testid="sync-button">Sync</button>`;
}

export function renderBanner(g: GateState): void {
  const banner = $("banner");
  banner.className = g.level;
  banner.dataset.testid = "gate-banner";
  banner.textContent =
    g.level === "warn"
      ? `No complete sync for ${g.daysSinceSync} days: sync within ${g.daysLeft} days or some functions will be disabled.`
      : g.level === "blocked"
        ? `No complete sync for ${g.daysSinceSync ?? "many"} days: creating quotes and orders, changing prices and submitting orders are disabled until you sync.`
        : "";
}
