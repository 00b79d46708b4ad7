/// <reference types="vite/client" />
// Automerge for the page: its wasm as a file of its own, fetched and compiled while the page
// loads (the browser caches the compiled module) instead of a 4.9 MB base64 string decoded and
// compiled on the main thread at every load. vite.config.ts points `@automerge/automerge` here;
// everything else (automerge-repo) uses `@automerge/automerge/slim`, which this initializes.

import wasm from "@automerge/automerge/automerge.wasm?url";
import { initializeWasm } from "@automerge/automerge/slim";

await initializeWasm(wasm);

export * from "@automerge/automerge/slim";
