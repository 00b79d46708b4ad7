// oms-sync/policy: the pure rules shared by client and relay. No I/O.

export type { AccessPolicy } from "./access.js";
export { createAccessPolicy, defaultAccessPolicy } from "./access.js";
export { jsonEqual } from "./json-equal.js";
export type { Principal } from "./principal.js";
export { hasRole, parsePrincipal, roles } from "./principal.js";
export type { ReadClause, ReadFilter } from "./read-filter.js";
export { defaultReadFilter, filterAdmits } from "./read-filter.js";
export type {
  GateConfig,
  GatedFunction,
  GateInput,
  GateLevel,
  GateState,
  LastSync,
} from "./staleness-gate.js";
export {
  DAY_MS,
  defaultGateConfig,
  evaluateGate,
  gatedFunctionNames,
  isEnabled,
  observeClock,
} from "./staleness-gate.js";
export type { SubmissionState } from "./submission-state.js";
export { changesSinceSubmission, submissionState, transmittedView } from "./submission-state.js";
export type {
  FieldRule,
  RefusalCode,
  WriteDecision,
  WriteInput,
  WriteRefusal,
} from "./write-validation.js";
export { defaultFieldRules, immutableFields, validateWrite } from "./write-validation.js";
