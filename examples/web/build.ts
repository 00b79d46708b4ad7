import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));

/**
 * Bundles the page. Automerge's "browser" entry imports its wasm as an ES module, which needs a
 * bundler plugin; its default entry carries the wasm inline, which any bundler takes.
 */
export async function buildPage(outdir = join(here, "dist")): Promise<string> {
  const automergeNode = fileURLToPath(import.meta.resolve("@automerge/automerge"));
  const automergeInline = join(automergeNode, "..", "fullfat_base64.js");
  await build({
    entryPoints: [join(here, "app.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outdir,
    logLevel: "warning",
    plugins: [
      {
        name: "automerge-inline-wasm",
        setup(b) {
          b.onResolve({ filter: /^@automerge\/automerge$/ }, () => ({ path: automergeInline }));
        },
      },
    ],
  });
  return outdir;
}
