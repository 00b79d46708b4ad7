import { defineConfig } from "tsup";

export default defineConfig([
  {
    // Browser-safe entries: no Node built-ins may reach these.
    entry: {
      index: "src/client/index.ts",
      docs: "src/docs/index.ts",
      policy: "src/policy/index.ts",
      testing: "src/testing/index.ts",
    },
    format: ["esm", "cjs"],
    dts: true,
    sourcemap: true,
    clean: false,
    target: "es2022",
    platform: "neutral",
    outDir: "dist",
  },
  {
    entry: { relay: "src/relay/index.ts", "relay-cli": "src/relay/cli.ts" },
    format: ["esm", "cjs"],
    dts: { entry: { relay: "src/relay/index.ts" } },
    sourcemap: true,
    target: "node20",
    platform: "node",
    outDir: "dist",
  },
]);
