/** Structural equality of JSON-like values (documents read through Automerge proxies included). */
export { deepEqual as jsonEqual } from "../docs/deep-equal.js";
