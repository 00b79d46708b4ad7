import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

// Runs against dist/ (built by `npm test` before vitest): what users install.
const require = createRequire(import.meta.url);
const subpaths = [
  "oms-sync",
  "oms-sync/docs",
  "oms-sync/policy",
  "oms-sync/testing",
  "oms-sync/react",
];

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

  it("keeps React out of every entry point but oms-sync/react, which imports the client as oms-sync", () => {
    const code = readdirSync("dist").filter((f) => /\.(c?js)$/.test(f));
    const others = code.filter((f) => !/^react\.c?js$/.test(f));
    expect(others).toContain("index.js");
    expect(others).toContain("relay.cjs");
    for (const file of others) {
      expect(readFileSync(`dist/${file}`, "utf8"), file).not.toMatch(
        /(from|require\(|import\()\s*["']react(-dom)?(\/[\w-]+)?["']/,
      );
    }
    for (const file of ["dist/react.js", "dist/react.cjs"]) {
      const text = readFileSync(file, "utf8");
      expect(text).toMatch(/(from|require\()\s*["']react["']/);
      // One client module for the app and the bindings: no bundled copy of it.
      expect(text).toMatch(/(from|require\()\s*["']oms-sync["']/);
      expect(text).not.toMatch(/class OmsError|function createClient/);
    }
  });
});
