import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, "..", "..", "src");

/**
 * The example imports the library as an application does (`oms-sync`, `oms-sync/react`); the
 * aliases point those subpaths at the library's source, so `npm run example` needs no build of
 * the package and an edit to src/ reloads the page. An application installed from npm resolves
 * the same names to the package's dist/.
 */
export default defineConfig({
  root: here,
  base: "./",
  // Vite's pre-bundled dependencies stay beside the example, not in a shared node_modules.
  cacheDir: join(here, ".vite"),
  plugins: [react()],
  resolve: {
    alias: [
      { find: /^oms-sync\/react$/, replacement: join(source, "react", "index.ts") },
      { find: /^oms-sync$/, replacement: join(source, "client", "index.ts") },
      // Automerge's "browser" entry imports its wasm as an ES module, which needs a wasm plugin;
      // src/automerge.ts loads the same wasm as a file instead.
      { find: /^@automerge\/automerge$/, replacement: join(here, "src", "automerge.ts") },
    ],
  },
  optimizeDeps: {
    // Pre-bundled, automerge-repo could carry a copy of automerge/slim of its own, one that
    // src/automerge.ts never initializes.
    exclude: ["@automerge/automerge"],
  },
  build: {
    outDir: join(here, "dist"),
    emptyOutDir: true,
    target: "es2022",
    // React, automerge-repo and the client in one chunk of about 530 kB: one request, cached.
    chunkSizeWarningLimit: 1_000,
  },
  logLevel: "warn",
});
