/**
 * Builds dist/'s JavaScript with esbuild (tsc writes only the .d.ts files).
 *
 * The layout is for the cold start. Node 20 pays for every ES module it loads
 * (resolve, read, compile, link: about a millisecond each on a small machine), and
 * finds a module's imports only once it has read it, so:
 *
 * - what every health route loads is one file, dist/chunks/core.js: config, runner,
 *   handler, render, metrics, refresh, the errors and the check kit (src/internal's
 *   shared helpers), with zod's few functions inside a function that runs only to
 *   explain a refused config (src/core/lazy-zod.ts): a valid config never evaluates them;
 * - each public entry of package.json is one file with its own code, importing core.js;
 *   the modules in COPIED (no state of their own) are copied into the files that use them;
 * - code that only some entries share (the Redis clients, the migrations readers) is
 *   split by esbuild into dist/chunks/chunk-<hash>.js, so an entry never imports a
 *   driver it does not name and a Next app builds with only the drivers it installed;
 * - every file imports every file it needs, however deep, itself (flattenImports), so
 *   Node reads them at once rather than one after the other;
 * - every file is minified last, whitespace and syntax only (names kept): Node scans every
 *   character of a module it loads.
 *
 * Every other module is in exactly one file (a module bundled twice would have two
 * states: the build fails), and core.js imports no Node built-in and no driver, so the
 * edge entries stay edge-safe. The drivers stay imports, written out, so bundlers and
 * Node's tracer see them. test/e2e/dist-layout.test.ts holds the result.
 *
 * Also entries, for the CLI's lazily loaded diagnostics: dist/core/config.js (a re-export
 * of core.js) and dist/cli/{project-diagnostics,k8s-diagnostics,init}.js
 * (scripts/build-cli.mjs bundles the rest of the CLI).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { build, transform } from "esbuild";

const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const publicEntries = Object.values(pkg.exports)
  .filter((target) => typeof target === "object")
  .map((target) => target.default.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts"));
const cliEntries = ["src/core/config.ts", "src/cli/project-diagnostics.ts", "src/cli/k8s-diagnostics.ts", "src/cli/init.ts"];
// zod is bundled; every other package (the drivers, the CLI's tools) stays an import.
const external = ["node:*", ...Object.keys(pkg.peerDependencies ?? {}), ...Object.keys(pkg.dependencies ?? {}).filter((name) => name !== "zod")];
const shared = { bundle: true, format: "esm", platform: "neutral", mainFields: ["module", "main"], target: "es2022", external, legalComments: "eof", logLevel: "warning" };

/** The modules of dist/chunks/core.js, the file every route loads; they import only each other (and COPIED). */
const CORE_FILE = "chunks/core.js";
const CORE = new Set(
  [
    ...["errors", "util", "check", "config", "handler", "lazy-zod", "metrics", "negotiate", "refresh", "refresh-registry", "render", "runner", "shutdown", "version"].map((name) => `src/core/${name}.ts`),
    ...["owned-client", "peer", "safe-errors", "postgres-errors"].map((name) => `src/internal/${name}.ts`),
  ].map((member) => resolve(member)),
);
/**
 * Small modules with no state of their own, copied into each file that imports them
 * (one file fewer to read each): the liveness matcher, which is also the edge entry
 * probekit/middleware, and the PostgreSQL plumbing of checks/postgres and
 * checks/migrations (not in core.js: its `import("postgres")` would reach every app's bundler).
 */
const COPIED = new Set(["src/middleware/index.ts", "src/internal/postgres.ts"].map((file) => resolve(file)));
const PLACEHOLDER = `probekit-dist:${CORE_FILE}`;

/**
 * Building core.js (`inCore`), an import of a module outside it and COPIED fails; building
 * the entries, an import of a core module becomes an import of core.js, written as a
 * placeholder that `relink` makes relative once esbuild has placed the importing code
 * (an entry, or a chunk of its own).
 */
const coreImports = (inCore) => ({
  name: "core-imports",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^\./ }, (args) => {
      if (args.kind === "entry-point") return undefined;
      const target = resolve(args.resolveDir, args.path.replace(/\.js$/, ".ts"));
      if (COPIED.has(target)) return { path: target, suffix: `?copy-for=${relative(".", args.importer)}` };
      if (!inCore) return CORE.has(target) ? { path: PLACEHOLDER, external: true } : undefined;
      if (!CORE.has(target) && target.startsWith(resolve("src"))) {
        return { errors: [{ text: `${relative(".", target)} is imported by ${CORE_FILE} but is not one of its modules in scripts/build-dist.mjs: add it to CORE` }] };
      }
      return undefined;
    });
  },
});

/**
 * dist's src/core/lazy-zod.ts: zod's code bundled as a script inside a function, run on
 * the first call. The script is minified in full (its names too, where the last step,
 * `minify`, keeps probekit's): a cold start still scans it (V8 preparses the function),
 * and the 21 KB minified take ~0.4 ms where the 49 KB readable took ~1 ms.
 */
const lazyZod = {
  name: "lazy-zod",
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /[\\/]src[\\/]core[\\/]lazy-zod\.ts$/ }, async () => {
      const { outputFiles } = await build({ ...shared, entryPoints: ["src/core/zod.ts"], write: false, format: "iife", globalName: "zod", legalComments: "inline", minify: true });
      // A function declaration, not a parenthesized function: V8 compiles a function
      // expression in parentheses eagerly (its guess that it is called at once).
      return { contents: `let loaded;\nfunction evaluateZod() {\n${outputFiles[0].text}\nreturn zod;\n}\nexport const loadZod = () => (loaded ??= evaluateZod());\n`, loader: "js" };
    });
  },
};

/** Writes esbuild's output files with the placeholder import made relative to each file. */
function relink(outputFiles) {
  for (const file of outputFiles) {
    const text = file.text.replaceAll(JSON.stringify(PLACEHOLDER), JSON.stringify(relativeImport(file.path, resolve("dist", CORE_FILE))));
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, text);
  }
}

/** The names each member exports, for core.js to export them all (a clash fails the build). */
async function exportedNames(members) {
  const names = new Map();
  for (const member of members) {
    const { metafile } = await build({ entryPoints: [member], bundle: false, write: false, metafile: true, format: "esm", outdir: "/tmp", logLevel: "warning" });
    for (const name of Object.values(metafile.outputs)[0].exports) {
      if (names.has(name) && reexports(member, name, names.get(name))) continue;
      if (names.has(name)) throw new Error(`scripts/build-dist.mjs: ${relative(".", member)} and ${relative(".", names.get(name))} both export ${name}, and share core.js: rename one`);
      names.set(name, member);
    }
  }
  return names;
}

/** Whether `member` exports `name` by importing it from `from` (one binding, exported once). */
function reexports(member, name, from) {
  const source = readFileSync(member, "utf8");
  return [...source.matchAll(/^import\s*\{([^}]*)\}\s*from\s*"(\.[^"]+)"/gm)].some(
    ([, names, path]) => resolve(dirname(member), path.replace(/\.js$/, ".ts")) === from && names.split(",").some((imported) => imported.trim() === name),
  );
}

const coreNames = await exportedNames([...CORE]);
const barrel = [...CORE].map((member) => `export { ${[...coreNames].filter(([, from]) => from === member).map(([name]) => name).join(", ")} } from ${JSON.stringify(member)};`).join("\n");
relink(
  (
    await build({
      ...shared,
      stdin: { contents: barrel, resolveDir: resolve("src"), sourcefile: CORE_FILE, loader: "ts" },
      outfile: resolve("dist", CORE_FILE),
      write: false,
      plugins: [coreImports(true), lazyZod],
    })
  ).outputFiles,
);

// An entry that is a core module (dist/core/config.js for the CLI) re-exports it from core.js.
const bundled = [];
for (const entry of [...publicEntries, ...cliEntries]) {
  if (!CORE.has(resolve(entry))) {
    bundled.push(entry);
    continue;
  }
  const out = resolve("dist", entry.replace(/^src\//, "").replace(/\.ts$/, ".js"));
  const names = [...coreNames].filter(([, from]) => from === resolve(entry)).map(([name]) => name);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `export { ${names.join(", ")} } from ${JSON.stringify(relativeImport(out, resolve("dist", CORE_FILE)))};\n`);
}

const { outputFiles, metafile } = await build({
  ...shared,
  entryPoints: bundled,
  outdir: "dist",
  outbase: "src",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  write: false,
  metafile: true,
  plugins: [coreImports(false)],
});
for (const [input] of Object.entries(metafile.inputs)) {
  if (CORE.has(resolve(input))) throw new Error(`scripts/build-dist.mjs: ${input} was bundled into an entry, outside core.js`);
}
relink(outputFiles);
flattenImports(resolve("dist"));
await minify(resolve("dist"));

/**
 * The last step: every file of dist minified, whitespace and syntax only. Names are kept,
 * so a stack trace still names probekit's functions. Node scans every character of a
 * module it loads: the README's route loads ~1 ms sooner (in-process, 80 rounds, against
 * the same files readable).
 */
async function minify(root) {
  for (const file of jsFiles(root)) {
    const { code } = await transform(readFileSync(file, "utf8"), { loader: "js", minifyWhitespace: true, minifySyntax: true, legalComments: "inline", target: "es2022" });
    writeFileSync(file, code);
  }
}

/**
 * Each file of dist imports every file it needs, however deep, at its top: Node's
 * loader finds a module's imports only once it has read it, so a chain entry → chunk →
 * core.js is three reads one after the other (~0.5 ms each here), where the same files
 * named by the entry are read at once. An import added after the file's own keeps the
 * order of evaluation (those modules have run by then).
 */
function flattenImports(root) {
  const files = jsFiles(root);
  const IMPORT = /^(?:import|export)\b[^;]*?from\s*"(\.[^"]+)";|^import\s*"(\.[^"]+)";/gm;
  const direct = new Map(files.map((file) => [file, [...readFileSync(file, "utf8").matchAll(IMPORT)].map((match) => resolve(dirname(file), match[1] ?? match[2]))]));
  const closure = (file, seen = new Set()) => {
    for (const imported of direct.get(file) ?? []) if (!seen.has(imported)) closure(imported, seen.add(imported));
    return seen;
  };
  for (const file of files) {
    const missing = [...closure(file)].filter((imported) => !direct.get(file).includes(imported));
    if (missing.length === 0) continue;
    const text = readFileSync(file, "utf8");
    const lastImport = [...text.matchAll(IMPORT)].at(-1);
    const at = lastImport.index + lastImport[0].length;
    const added = missing.map((imported) => `\nimport ${JSON.stringify(relativeImport(file, imported))};`).join("");
    writeFileSync(file, text.slice(0, at) + added + text.slice(at));
  }
}

/** Every JavaScript file under `root`, as full paths. */
function jsFiles(root) {
  return readdirSync(root, { recursive: true })
    .filter((name) => name.endsWith(".js"))
    .map((name) => join(root, name));
}

function relativeImport(from, to) {
  const path = relative(dirname(from), to);
  return path.startsWith(".") ? path : `./${path}`;
}
