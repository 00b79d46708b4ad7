import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, "..", "..", "src");

// Automerge's "browser" entry imports its wasm as an ES module, which needs a wasm plugin; its
// base64 entry carries the wasm inline, which any bundler takes.
const automerge = join(
  dirname(createRequire(import.meta.url).resolve("@automerge/automerge")),
  "..",
  "mjs",
  "entrypoints",
  "fullfat_base64.js",
);

/**
 * The example imports the library as an application does (`oms-sync`, `oms-sync/react`); the
 * aliases point those subpaths at the library's source, so `npm run example` needs no build of
 * the package and an edit to src/ reloads the page. An application installed from npm resolves
 * the same names to the package's dist/.
 */
export default defineConfig({
  root: here,
  base: "./",
  plugins: [react()],
  resolve: {
    alias: [
      { find: /^oms-sync\/react$/, replacement: join(source, "react", "index.ts") },
      { find: /^oms-sync$/, replacement: join(source, "client", "index.ts") },
      { find: /^@automerge\/automerge$/, replacement: automerge },
    ],
  },
  optimizeDeps: {
    // Pre-bundled, automerge-repo would meet its own copy of the aliased automerge entry.
    exclude: ["@automerge/automerge"],
  },
  build: {
    outDir: join(here, "dist"),
    emptyOutDir: true,
    target: "es2022",
    // Automerge's inline wasm alone is ~2 MB; the warning would fire on every build.
    chunkSizeWarningLimit: 6_000,
  },
  logLevel: "warn",
});
