import { OmsError } from "../docs/errors.js";
import type { GatedFunction, GateState } from "../policy/staleness-gate.js";
import type { WriteRefusal } from "../policy/write-validation.js";

/** A gated function was called while the staleness gate disables it. */
export class FeatureDisabledError extends OmsError {
  readonly feature: GatedFunction;
  readonly gate: GateState;

  constructor(feature: GatedFunction, gate: GateState) {
    const since =
      gate.lastSyncAt === null
        ? "this device has never completed a sync"
        : `the last complete sync was on ${new Date(gate.lastSyncAt).toISOString().slice(0, 10)}, ${gate.daysSinceSync} days ago`;
    super(
      "FEATURE_DISABLED",
      `${feature} is disabled: ${since}. Connect and sync to enable it again.`,
    );
    this.name = "FeatureDisabledError";
    this.feature = feature;
    this.gate = gate;
  }
}

/** A write the policy refuses; nothing was written. */
export class WriteRefusedError extends OmsError {
  readonly reasons: readonly WriteRefusal[];

  constructor(reasons: readonly WriteRefusal[]) {
    super(
      "WRITE_REFUSED",
      `the change was not made: ${reasons.map((r) => r.message).join("; ")}. The relay would refuse it.`,
    );
    this.name = "WriteRefusedError";
    this.reasons = reasons;
  }
}
