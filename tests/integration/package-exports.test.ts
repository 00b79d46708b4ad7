import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

// Runs against dist/ (built by `npm test` before vitest): what users install.
const require = createRequire(import.meta.url);
const subpaths = ["oms-sync", "oms-sync/docs", "oms-sync/policy", "oms-sync/testing"];

describe("the published package", () => {
  it.each(subpaths)("%s loads as ESM and as CommonJS with the same names", async (name) => {
    const esm = await import(name);
    const cjs = require(name);
    expect(Object.keys(esm).length).toBeGreaterThan(3);
    expect(Object.keys(cjs).sort()).toEqual(Object.keys(esm).sort());
  });

  it("has working code behind the names", async () => {
    const name: string = "oms-sync/docs";
    const docs = await import(name);
    const quote = docs.createQuote({ owner: "alice", organization: "acme", currency: "USD" });
    expect(docs.checkDocument(quote)).toEqual([]);
  });

  it("keeps the client entry free of Node built-ins", () => {
    for (const file of ["dist/index.js", "dist/index.cjs"]) {
      const code = readFileSync(file, "utf8");
      const chunks = [...code.matchAll(/from "\.\/(chunk-[\w-]+\.js)"/g)].map(
        (m) => m[1] as string,
      );
      for (const text of [code, ...chunks.map((c) => readFileSync(`dist/${c}`, "utf8"))]) {
        expect(text).not.toMatch(/(from|require\()\s*["'](node:|fs|path|os|crypto|net|http)["']/);
      }
    }
  });
});
