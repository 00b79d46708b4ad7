// oms-sync: the embeddable client (browser-safe: no Node built-ins). The document model and
// policy rules it enforces are re-exported here so a front end needs one import.
export * from "../docs/index.js";
export * from "../policy/index.js";
