import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

/** The Vite configuration of the page (also what `npx vite build examples/web` reads). */
export const viteConfigFile = join(here, "vite.config.ts");

/** Builds the page for production into `outDir` (examples/web/dist by default); returns it. */
export async function buildPage(outDir = join(here, "dist")): Promise<string> {
  await build({ configFile: viteConfigFile, build: { outDir, emptyOutDir: true } });
  return outDir;
}

// `npm run example:build`.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = await buildPage();
  process.stdout.write(`built the example page into ${out}\n`);
}
