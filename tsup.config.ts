import { defineConfig } from "tsup";

// One entry per subpath export; the client entry must stay free of Node built-ins.
export default defineConfig({
  entry: {
    index: "src/client/index.ts",
    docs: "src/docs/index.ts",
    policy: "src/policy/index.ts",
    testing: "src/testing/index.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  platform: "neutral",
  outDir: "dist",
});
