/**
 * Bundles the CLI's run path into one file, dist/cli/index.js. Exec probes start
 * it every few seconds, and on Node 20 each extra ES module costs milliseconds.
 * The diagnostics (zod, acorn, path-to-regexp) stay separate modules, loaded
 * only by `probekit check` or a run without --skip-checks.
 */
import { build } from "esbuild";

const LAZY = new Set(["../core/config.js", "./project-diagnostics.js", "./k8s-diagnostics.js", "./init.js"]);

await build({
  entryPoints: ["src/cli/index.ts"],
  outfile: "dist/cli/index.js",
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  allowOverwrite: true,
  logLevel: "warning",
  plugins: [
    {
      name: "lazy-modules",
      setup(pluginBuild) {
        // dist/cli/index.js sits where src/cli/index.ts does, so the same relative path finds tsc's output.
        pluginBuild.onResolve({ filter: /\.js$/ }, (args) => (args.kind === "dynamic-import" && LAZY.has(args.path) ? { path: args.path, external: true } : undefined));
      },
    },
  ],
});
