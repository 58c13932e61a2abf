/**
 * The layout of the built dist/ that a cold start depends on (scripts/build-dist.mjs):
 * a health route reads few files, all of them named at once by the files that need
 * them (no chain read one step after another), and zod's code is evaluated only to
 * explain a refused config. Runs against the build `npm test` makes before this suite.
 */
import { parse } from "acorn";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const DIST = join(REPO, "dist");
const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { exports: Record<string, { default: string } | string> };

/** The files a module of dist names in its static imports and re-exports, parsed with acorn (not the build's own scan). */
function staticImports(file: string): string[] {
  const program = parse(readFileSync(file, "utf8"), { ecmaVersion: "latest", sourceType: "module" });
  return program.body
    .flatMap((node) => (node.type === "ImportDeclaration" || ((node.type === "ExportNamedDeclaration" || node.type === "ExportAllDeclaration") && node.source) ? [String(node.source!.value)] : []))
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => resolve(dirname(file), specifier));
}
function closure(file: string, seen = new Set<string>()): Set<string> {
  for (const imported of staticImports(file)) if (!seen.has(imported)) closure(imported, seen.add(imported));
  return seen;
}
const entryFile = (subpath: string) => join(REPO, (pkg.exports[subpath] as { default: string }).default);

describe("dist layout", () => {
  it("the README's health route (probekit, probekit/next, checks/postgres, checks/system) reads five files of dist", () => {
    const entries = [".", "./next", "./checks/postgres", "./checks/system"].map(entryFile);
    const files = new Set(entries.flatMap((entry) => [entry, ...closure(entry)]));
    assert.deepEqual([...files].map((file) => relative(DIST, file)).sort(), ["checks/postgres.js", "checks/system.js", "chunks/core.js", "index.js", "next/index.js"]);
  });

  it("every file of dist imports each file it needs itself, so Node reads them all at once", () => {
    const files = readdirSync(DIST, { recursive: true, encoding: "utf8" }).filter((file) => file.endsWith(".js")).map((file) => join(DIST, file));
    assert.ok(files.length > 20);
    for (const file of files) {
      const direct = new Set(staticImports(file));
      const missing = [...closure(file)].filter((imported) => !direct.has(imported)).map((imported) => relative(DIST, imported));
      assert.deepEqual(missing, [], `${relative(DIST, file)} reaches these only through another file`);
    }
  });

  it("the edge entries' files import no Node built-in (the core's file included)", () => {
    for (const subpath of [".", "./next", "./middleware", "./checks/http", "./checks/neon", "./checks/status-page", "./checks/edge-config"]) {
      for (const file of [entryFile(subpath), ...closure(entryFile(subpath))]) {
        assert.doesNotMatch(readFileSync(file, "utf8"), /from\s*"node:|import\s*\(\s*"node:/, `${subpath}: ${relative(DIST, file)}`);
      }
    }
  });

  it("dist is minified, whitespace and syntax only: a cold start scans less, and stack traces keep probekit's names", () => {
    const core = readFileSync(join(DIST, "chunks", "core.js"), "utf8");
    // Readable, core.js was ~3,000 lines (zod's script 1,443 of them); minified, it is a line per template literal that spans lines.
    assert.ok(core.split("\n").length < 40, `core.js has ${core.split("\n").length} lines`);
    for (const name of ["defineHealthConfig", "runHealthChecks", "handleHealthRequest", "evaluateZod"]) assert.match(core, new RegExp(`function ${name}\\(`), name);
    assert.ok(/function evaluateZod\(\)\{.{15000,30000}return zod\}/s.test(core), "zod's script, minified, sits in evaluateZod");
  });

  it("a valid config never evaluates zod; a refused one does, for its messages", () => {
    // zod sets globalThis.__zod_globalConfig when its code runs.
    const script = `
      const { defineCheck, defineHealthConfig } = await import(${JSON.stringify(entryFile("."))});
      const { createHealthRoute } = await import(${JSON.stringify(entryFile("./next"))});
      const config = defineHealthConfig({ subsets: { readiness: [defineCheck({ name: "db", timeoutMs: 500, check: () => {} })] }, timeoutMs: 2000, cacheTtlMs: 0 });
      const { GET } = createHealthRoute(config);
      const response = await GET(new Request("http://localhost/healthcheck/readiness", { headers: { accept: "application/json" } }));
      const before = { status: response.status, zod: globalThis.__zod_globalConfig !== undefined };
      let message = "";
      try { defineHealthConfig({ subsets: { readiness: [] }, timeoutMs: -1 }); } catch (error) { message = error.message; }
      process.stdout.write(JSON.stringify({ before, message, after: globalThis.__zod_globalConfig !== undefined }));
    `;
    const result = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" })) as { before: { status: number; zod: boolean }; message: string; after: boolean };
    assert.deepEqual(result.before, { status: 200, zod: false });
    assert.match(result.message, /E003 timeoutMs: must be greater than 0/);
    assert.equal(result.after, true);
  });
});
