// oms-sync/testing: fast-check arbitraries and helpers to property-test merge behaviour.

export { applyDocumentAction } from "./apply-action.js";
export type { DocumentAction, ReplicaStep } from "./arbitraries.js";
export {
  arbDiscountBp,
  arbDocumentAction,
  arbHeaderPatch,
  arbLineItemPatch,
  arbNewLineItem,
  arbOptions,
  arbOrganizationId,
  arbPrincipal,
  arbQuantity,
  arbReplicaSteps,
  arbUnitPrice,
  arbUserId,
  propertyRuns,
} from "./arbitraries.js";
export {
  arbAssistanceRequest,
  arbInbox,
  arbLedger,
  arbOrder,
  arbOrganization,
  arbQuote,
  arbWorkspace,
} from "./document-arbitraries.js";
export type { ManualClock } from "./manual-clock.js";
export { createManualClock } from "./manual-clock.js";
export type { ReplicaRun } from "./replicas.js";
export { continueReplicas, healAll, runReplicas } from "./replicas.js";
export * from "./sim/index.js";
