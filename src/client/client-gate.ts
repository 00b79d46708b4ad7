import {
  defaultGateConfig,
  evaluateGate,
  type GateConfig,
  type GatedFunction,
  type GateState,
  isEnabled,
  type LastSync,
  observeClock,
} from "../policy/staleness-gate.js";
import type { Clock } from "./clock.js";
import type { DeviceStore } from "./device-store.js";
import { FeatureDisabledError } from "./errors.js";

interface GateRecord {
  lastSync: LastSync | null;
  /** The relay's signed receipt of `lastSync.relayTime`: submission requests carry it. */
  receipt?: string;
  highestLocalSeen: number;
}

/** How often the highest clock reading is written to the device, at most. */
const PERSIST_EVERY_MS = 60_000;
/** How often the gate re-evaluates itself to notify listeners of a change of level. */
const CHECK_EVERY_MS = 60_000;

/**
 * The staleness gate on a device: remembers the last complete sync and the highest clock reading
 * across restarts, evaluates the pure rule, and tells listeners when the level changes. Users
 * without the Offline permission are never gated: they cannot work without a connection anyway.
 */
export class ClientGate {
  readonly #clock: Clock;
  readonly #store: DeviceStore;
  readonly #config: GateConfig;
  readonly #applies: boolean;
  #record: GateRecord = { lastSync: null, highestLocalSeen: 0 };
  #persistedHighest = 0;
  #listeners = new Set<(state: GateState) => void>();
  #last: GateState | undefined;
  #timer: unknown;

  constructor(clock: Clock, store: DeviceStore, config: Partial<GateConfig>, applies: boolean) {
    this.#clock = clock;
    this.#store = store;
    this.#config = { ...defaultGateConfig, ...config };
    this.#applies = applies;
  }

  async load(): Promise<void> {
    const saved = await this.#store.get<GateRecord>("gate");
    if (saved) this.#record = saved;
    this.#persistedHighest = this.#record.highestLocalSeen;
  }

  /** The gate now. Reading it also records the clock, so a later step back is noticed. */
  get state(): GateState {
    const now = this.#clock.now();
    this.#record.highestLocalSeen = observeClock(this.#record.highestLocalSeen, now);
    if (this.#record.highestLocalSeen - this.#persistedHighest >= PERSIST_EVERY_MS)
      void this.#persist();
    if (!this.#applies) {
      return {
        level: "ok",
        ageMs: null,
        daysSinceSync: null,
        daysLeft: this.#config.blockAfterDays,
        lastSyncAt: this.#record.lastSync?.relayTime ?? null,
        disabled: [],
      };
    }
    return evaluateGate(
      { lastSync: this.#record.lastSync, now, highestLocalSeen: this.#record.highestLocalSeen },
      this.#config,
    );
  }

  isEnabled(fn: GatedFunction): boolean {
    return isEnabled(this.state, fn);
  }

  /** Throws FeatureDisabledError when `fn` is disabled. */
  assertEnabled(fn: GatedFunction): void {
    const state = this.state;
    if (!isEnabled(state, fn)) throw new FeatureDisabledError(fn, state);
  }

  /** The relay's receipt of the last complete sync, or null (none yet, or saved by an old version). */
  get lastSyncReceipt(): string | null {
    return this.#record.receipt ?? null;
  }

  /** Records a complete sync: the relay's time, its receipt, and the device clock at that moment. */
  async recordCompleteSync(relayTime: number, localTime: number, receipt?: string): Promise<void> {
    this.#record = {
      lastSync: { relayTime, localTime },
      highestLocalSeen: Math.max(localTime, this.#clock.now()),
      ...(receipt ? { receipt } : {}),
    };
    await this.#persist();
    // Always tell listeners: the clock may have moved since the last check, so the level they
    // show may differ from the one the gate last reported.
    this.#last = undefined;
    this.check();
  }

  /** Starts the clock of a device that never had one: its first contact with the relay. */
  async recordFirstContact(relayTime: number, localTime: number, receipt?: string): Promise<void> {
    if (this.#record.lastSync !== null) return;
    await this.recordCompleteSync(relayTime, localTime, receipt);
  }

  /** Re-evaluates and notifies listeners if the level or the disabled set changed. */
  check(): void {
    const state = this.state;
    const previous = this.#last;
    this.#last = state;
    if (previous && previous.level === state.level && previous.daysLeft === state.daysLeft) return;
    for (const listener of this.#listeners) listener(state);
  }

  subscribe(listener: (state: GateState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #persist(): Promise<void> {
    this.#persistedHighest = this.#record.highestLocalSeen;
    await this.#store.set("gate", this.#record);
  }

  /** Re-evaluates every minute (on the injected clock) so listeners hear of a new level. */
  start(): void {
    this.check();
    this.#timer = this.#clock.setTimeout(() => this.start(), CHECK_EVERY_MS);
  }

  async close(): Promise<void> {
    this.#clock.clearTimeout(this.#timer);
    await this.#persist();
  }
}
