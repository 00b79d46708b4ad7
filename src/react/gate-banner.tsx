import type { CSSProperties, ReactElement, ReactNode } from "react";
import type { GateView } from "./types.js";
import { useGate } from "./use-sync.js";

/** Props of {@link GateBanner}. */
export interface GateBannerProps {
  /** The root's class; default `oms-gate-banner`. The root carries `data-level` (`ok`, `warn`, `blocked`). */
  className?: string;
  /** Merged over the default style (amber for a warning, red when blocked). */
  style?: CSSProperties;
  /** No inline style at all. */
  unstyled?: boolean;
  /** Replaces the text; return null to show nothing. */
  children?: (gate: GateView) => ReactNode;
}

const styles: Record<"warn" | "blocked", CSSProperties> = {
  warn: {
    padding: "0.5rem 1rem",
    background: "#fff8c5",
    color: "#4d2d00",
    borderBottom: "1px solid #d4a72c",
  },
  blocked: {
    padding: "0.5rem 1rem",
    background: "#ffebe9",
    color: "#82071e",
    borderBottom: "1px solid #cf222e",
  },
};

/** The banner's default text for a gate state: empty when the gate is content. */
export function gateMessage(gate: GateView): string {
  if (gate.level === "warn")
    return `No complete sync for ${gate.daysSinceSync} days: sync within ${gate.daysLeft} days or some functions will be disabled.`;
  if (gate.level === "blocked")
    return `No complete sync for ${gate.daysSinceSync ?? "many"} days: creating quotes and orders, changing prices and submitting orders are disabled until you sync.`;
  return "";
}

/**
 * The staleness gate's banner: from day 10 without a complete sync a warning with the days
 * left, after day 14 the functions disabled until a sync. While the gate is content it renders
 * an empty, hidden element (so a layout or a test can find it). Restyle with `className` (and
 * `unstyled`), or pass a function as children for your own text.
 *
 * @example
 * ```tsx
 * <GateBanner className="banner" />
 * ```
 */
export function GateBanner(props: GateBannerProps): ReactElement {
  const gate = useGate();
  const text = props.children ? props.children(gate) : gateMessage(gate);
  const shown = gate.level !== "ok" && text !== null && text !== "";
  return (
    <div
      className={props.className ?? "oms-gate-banner"}
      data-testid="gate-banner"
      data-level={gate.level}
      role={gate.level === "blocked" ? "alert" : "status"}
      hidden={!shown}
      style={
        props.unstyled || gate.level === "ok"
          ? undefined
          : { ...styles[gate.level], ...props.style }
      }
    >
      {shown ? text : null}
    </div>
  );
}
