import { defineConfig } from "tsup";

/**
 * oms-sync/react imports the client as `oms-sync`, not a copy of it: the app and the bindings
 * then share one client module (one `OmsError` for `instanceof`, one set of stores).
 */
const clientAsPackage = {
  name: "client-as-package",
  setup(build: {
    onResolve(
      options: { filter: RegExp },
      callback: () => { path: string; external: boolean },
    ): void;
  }) {
    build.onResolve({ filter: /^\.\.\/client\/index\.js$/ }, () => ({
      path: "oms-sync",
      external: true,
    }));
  },
};

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
    // React 18 or 19 is the app's (an optional peer dependency): never bundled.
    entry: { react: "src/react/index.ts" },
    format: ["esm", "cjs"],
    dts: true,
    sourcemap: true,
    target: "es2022",
    platform: "neutral",
    outDir: "dist",
    external: ["react", "react/jsx-runtime", "oms-sync"],
    esbuildPlugins: [clientAsPackage],
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
