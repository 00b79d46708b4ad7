export { arbSimAction, arbSimScenario, arbSimStep } from "./arbitraries.js";
export type { InvariantViolation } from "./invariants.js";
export {
  checkAll,
  checkConvergence,
  checkExactlyOnce,
  checkIsolation,
  checkNoLoss,
  checkStaleness,
  checkValidity,
} from "./invariants.js";
export { SimDevice } from "./sim-device.js";
export { SimEndpoint, SimLink } from "./sim-network.js";
export { SimRelay } from "./sim-relay.js";
export type { SimAction, SimStep, SimUser, SimWorldOptions } from "./sim-world.js";
export { createSimWorld, SimWorld } from "./sim-world.js";
