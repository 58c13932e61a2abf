/**
 * Builds dist/'s JavaScript with esbuild (tsc writes only the .d.ts files): one file
 * per public entry of package.json, the code they share in dist/chunks/, and zod's
 * few functions the config validation uses bundled in, tree-shaken.
 *
 * Why: a cold start pays per module. Unbundled (as Node loads a server-external
 * package), the per-file output and zod/mini's own hundred-odd modules cost a health
 * route ~75 ms over a bare route; one file per entry and a 20 KB zod, a few ms.
 * The drivers stay imports, written out, so bundlers and Node's tracer see them.
 *
 * Also entries, for the CLI's lazily loaded diagnostics: dist/core/config.js and
 * dist/cli/project-diagnostics.js and dist/cli/k8s-diagnostics.js (scripts/build-cli.mjs
 * bundles the rest of the CLI).
 */
import { readFileSync } from "node:fs";
import { build } from "esbuild";

const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const publicEntries = Object.values(pkg.exports)
  .filter((target) => typeof target === "object")
  .map((target) => target.default.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts"));
// zod is bundled; every other package (the drivers, the CLI's tools) stays an import.
const external = ["node:*", ...Object.keys(pkg.peerDependencies ?? {}), ...Object.keys(pkg.dependencies ?? {}).filter((name) => name !== "zod")];

await build({
  entryPoints: [...publicEntries, "src/core/config.ts", "src/core/zod.ts", "src/cli/project-diagnostics.ts", "src/cli/k8s-diagnostics.ts", "src/cli/init.ts"],
  outdir: "dist",
  outbase: "src",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "neutral",
  mainFields: ["module", "main"],
  target: "es2022",
  chunkNames: "chunks/[name]-[hash]",
  external,
  legalComments: "eof",
  logLevel: "warning",
});
