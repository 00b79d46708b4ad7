/** Functions the gate can disable; an OMS may name its own too. */
export const gatedFunctionNames = {
  createQuote: "createQuote",
  createOrder: "createOrder",
  changePrices: "changePrices",
  submitOrder: "submitOrder",
} as const;
export type GatedFunction = keyof typeof gatedFunctionNames | (string & {});

export interface GateConfig {
  /** From this many whole days without a complete sync the user is warned. */
  readonly warnAfterDays: number;
  /** After more than this many days without a complete sync, gated functions are disabled. */
  readonly blockAfterDays: number;
  /** The functions disabled when blocked. */
  readonly gated: readonly GatedFunction[];
}

export const defaultGateConfig: GateConfig = {
  warnAfterDays: 10,
  blockAfterDays: 14,
  gated: ["createQuote", "createOrder", "changePrices", "submitOrder"],
};

/** The last complete sync: the relay's clock then, and the device's clock at the same moment. */
export interface LastSync {
  readonly relayTime: number;
  readonly localTime: number;
}

export interface GateInput {
  /** Null when this device never completed a sync. */
  readonly lastSync: LastSync | null;
  /** The device clock now. */
  readonly now: number;
  /** The highest device clock reading seen since the last complete sync (see `observeClock`). */
  readonly highestLocalSeen: number;
}

export type GateLevel = "ok" | "warn" | "blocked";

export interface GateState {
  readonly level: GateLevel;
  /** Milliseconds since the last complete sync; null when there never was one. */
  readonly ageMs: number | null;
  /** Whole days since the last complete sync; null when there never was one. */
  readonly daysSinceSync: number | null;
  /** Whole days left before gated functions are disabled (0 when blocked). */
  readonly daysLeft: number;
  /** Relay time of the last complete sync, or null. */
  readonly lastSyncAt: number | null;
  /** The functions disabled now. */
  readonly disabled: readonly GatedFunction[];
}

export const DAY_MS = 86_400_000;

/**
 * The highest clock reading to remember: never lower than before, so setting the device's clock
 * back cannot make the last sync look more recent.
 */
export function observeClock(highestLocalSeen: number, now: number): number {
  return Math.max(highestLocalSeen, now);
}

/**
 * The staleness gate, as a pure function of the last complete sync and the device's clocks.
 * Age is measured on the device's clock from the moment of the last sync, using the highest
 * reading ever seen, so it never goes down when the clock is set back.
 *
 * @example
 * ```ts
 * const gate = evaluateGate({ lastSync, now: Date.now(), highestLocalSeen });
 * if (gate.level === "warn") showBanner(`${gate.daysLeft} days left to sync`);
 * ```
 */
export function evaluateGate(input: GateInput, config: GateConfig = defaultGateConfig): GateState {
  if (input.lastSync === null) {
    return {
      level: "blocked",
      ageMs: null,
      daysSinceSync: null,
      daysLeft: 0,
      lastSyncAt: null,
      disabled: [...config.gated],
    };
  }
  const effectiveNow = Math.max(input.now, input.highestLocalSeen);
  const ageMs = Math.max(0, effectiveNow - input.lastSync.localTime);
  const daysSinceSync = Math.floor(ageMs / DAY_MS);
  const blockAtMs = config.blockAfterDays * DAY_MS;
  const level: GateLevel =
    ageMs > blockAtMs ? "blocked" : daysSinceSync >= config.warnAfterDays ? "warn" : "ok";
  return {
    level,
    ageMs,
    daysSinceSync,
    daysLeft: level === "blocked" ? 0 : Math.max(0, Math.ceil((blockAtMs - ageMs) / DAY_MS)),
    lastSyncAt: input.lastSync.relayTime,
    disabled: level === "blocked" ? [...config.gated] : [],
  };
}

/** True when the gate lets `fn` run. */
export function isEnabled(state: GateState, fn: GatedFunction): boolean {
  return !state.disabled.includes(fn);
}
