// The staleness banner: a warning from day 10, what is disabled from day 14.
import { useGate } from "../live.js";

export function GateBanner() {
  const g = useGate();
  const text =
    g.level === "warn"
      ? `No complete sync for ${g.daysSinceSync} days: sync within ${g.daysLeft} days or some functions will be disabled.`
      : g.level === "blocked"
        ? `No complete sync for ${g.daysSinceSync ?? "many"} days: creating quotes and orders, changing prices and submitting orders are disabled until you sync.`
        : "";
  return (
    <div id="banner" role="status" className={g.level} data-testid="gate-banner">
      {text}
    </div>
  );
}
