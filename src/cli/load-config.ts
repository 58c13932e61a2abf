/**
 * Finds and loads the health config for the CLI.
 *
 * Exec probes start the CLI every few seconds in every worker pod, so loading is
 * built for the second run: the config (TypeScript or JavaScript) is bundled once
 * with esbuild, together with the parts of probekit and zod it uses (tree-shaken),
 * into `node_modules/.cache/probekit/`. Later runs stat the files it was built
 * from and import the bundle straight away: no tsx hooks, no full zod. When the
 * bundle cannot be built or written (a read-only image, an unusual layout), a
 * TypeScript config loads through tsx and a JavaScript one with plain `import()`.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, extname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { HealthConfig } from "../core/config.js";
import { isHealthConfig } from "../core/util.js";

/** A usage or config problem: the CLI prints it and exits 2. */
export class CliUsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliUsageError";
  }
}

export const CONFIG_NAMES = ["health.config.ts", "health.config.mts", "health.config.js", "health.config.mjs"];
const TYPESCRIPT = new Set([".ts", ".mts", ".cts", ".tsx"]);

/** `--config`, else `HEALTH_CHECK_CONFIG`, else `health.config.*` in the working directory, then in `src/`. */
export function findConfigFile(explicit: string | undefined, cwd: string, env: NodeJS.ProcessEnv): string {
  const given = explicit ?? (env.HEALTH_CHECK_CONFIG || undefined);
  if (given !== undefined) {
    const file = isAbsolute(given) ? given : resolve(cwd, given);
    if (!existsSync(file)) {
      throw new CliUsageError(`config file not found: ${file} (from ${explicit === undefined ? "HEALTH_CHECK_CONFIG" : "--config"})`);
    }
    return file;
  }
  const candidates = [cwd, join(cwd, "src")].flatMap((dir) => CONFIG_NAMES.map((name) => join(dir, name)));
  const found = candidates.find((file) => existsSync(file));
  if (found === undefined) {
    throw new CliUsageError(`no health config found: looked for ${CONFIG_NAMES.join(", ")} in ${cwd} and ${join(cwd, "src")}; pass --config <file> or set HEALTH_CHECK_CONFIG`);
  }
  return found;
}

/** Imports the config file and returns its `defineHealthConfig` result. */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv): Promise<HealthConfig> {
  let module: Record<string, unknown>;
  try {
    module = (await importCompiled(file, env)) ?? (await importDirectly(file));
  } catch (error) {
    if (error instanceof CliUsageError) throw error;
    // HealthConfigError and friends carry their own explanation.
    throw new CliUsageError(`could not load ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  // A config compiled as CommonJS (no "type": "module") arrives wrapped in one more `default`.
  const wrapped = module.default as Record<string, unknown> | undefined;
  const config = [module.default, module.healthConfig, wrapped?.default, wrapped?.healthConfig].find(isHealthConfig);
  if (config === undefined) {
    throw new CliUsageError(`${file} must export the result of defineHealthConfig(...) as its default export or as "healthConfig"`);
  }
  return config;
}

async function importDirectly(file: string): Promise<Record<string, unknown>> {
  if (TYPESCRIPT.has(extname(file))) {
    const { tsImport } = await import("tsx/esm/api");
    return (await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<string, unknown>;
  }
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------
// The compiled-config cache

interface Manifest {
  version: 1;
  /** Every file the bundle was built from, with what its stat said then. */
  inputs: [path: string, mtimeMs: number, size: number][];
}

const MANIFEST_VERSION = 1;

/** The cached bundle's module, or undefined when the cache is off or cannot be used. */
async function importCompiled(file: string, env: NodeJS.ProcessEnv): Promise<Record<string, unknown> | undefined> {
  if (env.PROBEKIT_CACHE === "0") return undefined;
  const cacheDir = cacheDirFor(file, env);
  if (cacheDir === undefined) return undefined;
  const key = fnv1a(file);
  const bundle = join(cacheDir, `${key}.mjs`);
  const manifestFile = join(cacheDir, `${key}.json`);
  if (!isFresh(manifestFile)) {
    const built = await compile(file, bundle, manifestFile).catch((error: unknown) => {
      if (env.PROBEKIT_DEBUG) process.stderr.write(`probekit: config cache not used: ${String(error)}\n`);
      return false;
    });
    if (!built) return undefined;
  }
  try {
    return (await import(pathToFileURL(bundle).href)) as Record<string, unknown>;
  } catch (error) {
    // A package the bundle left as an import does not resolve from the cache folder: load the config where it is.
    if ((error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") return undefined;
    throw error;
  }
}

/** `node_modules/.cache/probekit` in the nearest folder with a node_modules, where bare imports resolve as from the config. */
function cacheDirFor(file: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env.PROBEKIT_CACHE_DIR) return resolve(env.PROBEKIT_CACHE_DIR);
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "node_modules"))) return join(dir, "node_modules", ".cache", "probekit");
    if (dirname(dir) === dir) return undefined;
  }
}

function isFresh(manifestFile: string): boolean {
  try {
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Manifest;
    if (manifest.version !== MANIFEST_VERSION) return false;
    return manifest.inputs.every(([path, mtimeMs, size]) => {
      const stat = statSync(path, { throwIfNoEntry: false });
      return stat !== undefined && stat.mtimeMs === mtimeMs && stat.size === size;
    });
  } catch {
    return false;
  }
}

/** Bundles the config with esbuild: the app's own files, probekit and zod go in; every other package stays an import. */
async function compile(file: string, bundle: string, manifestFile: string): Promise<boolean> {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [file],
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    target: "node20",
    // Less to parse on every probe; names are kept so stack traces stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    // Folds zod out of defineHealthConfig (see schemaIssues in core/config.ts); the CLI validates options itself.
    define: { "globalThis.__PROBEKIT_NO_SCHEMAS__": "true" },
    metafile: true,
    logLevel: "silent",
    absWorkingDir: dirname(file),
    plugins: [
      {
        name: "probekit-externals",
        setup(pluginBuild) {
          pluginBuild.onResolve({ filter: /^[^./]/ }, async (args) => {
            if (args.pluginData === RESOLVING) return undefined;
            const resolved = await pluginBuild.resolve(args.path, {
              kind: args.kind,
              importer: args.importer,
              resolveDir: args.resolveDir,
              pluginData: RESOLVING,
            });
            // Unresolvable (an optional peer that is not installed): leave it to run time, as an unbundled import would.
            if (resolved.errors.length > 0 || resolved.external) return { path: args.path, external: true };
            const name = packageOf(resolved.path);
            // The app's own files (tsconfig aliases too), probekit and zod are bundled; other packages stay imports.
            if (name === undefined || name === "probekit" || name === "zod") return { path: resolved.path };
            return { path: args.path, external: true };
          });
          // The bundle lives elsewhere: pin each file's import.meta to where the file really is.
          pluginBuild.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, (args) => {
            if (args.path.includes("/node_modules/")) return undefined;
            const source = readFileSync(args.path, "utf8");
            if (!source.includes("import.meta")) return undefined;
            const url = pathToFileURL(args.path).href;
            const contents = source
              .replace(/\bimport\.meta\.url\b/g, JSON.stringify(url))
              .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(args.path))
              .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(dirname(args.path)));
            return { contents, loader: loaderFor(args.path), resolveDir: dirname(args.path) };
          });
        },
      },
    ],
  });
  const output = result.outputFiles[0];
  if (output === undefined) return false;
  const inputs = Object.keys(result.metafile.inputs).map((input) => resolve(dirname(file), input));
  // A tsconfig changes how the config compiles (paths, jsx) without being an input.
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const tsconfig = join(dir, "tsconfig.json");
    if (existsSync(tsconfig)) inputs.push(tsconfig);
    if (existsSync(join(dir, "package.json")) || dirname(dir) === dir) break;
  }
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    inputs: inputs.map((path) => {
      const stat = statSync(path);
      return [path, stat.mtimeMs, stat.size];
    }),
  };
  mkdirSync(dirname(bundle), { recursive: true });
  // Write-then-rename: a probe running at the same moment sees the old files or the new ones, never half of one.
  const temp = `.${process.pid}.tmp`;
  writeFileSync(bundle + temp, output.text);
  renameSync(bundle + temp, bundle);
  writeFileSync(manifestFile + temp, JSON.stringify(manifest));
  renameSync(manifestFile + temp, manifestFile);
  return true;
}

const RESOLVING = Symbol("resolving");

/**
 * A 64-bit FNV-1a hash of the config's path, to name its cache files. Not
 * node:crypto: loading it costs the exec probe ~2 ms, and nothing here is secret.
 */
function fnv1a(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, "0");
}

/** The package a resolved file belongs to, or undefined for a file outside node_modules. */
function packageOf(path: string): string | undefined {
  const at = path.lastIndexOf("/node_modules/");
  if (at === -1) return undefined;
  const [first, second] = path.slice(at + "/node_modules/".length).split("/");
  return first?.startsWith("@") ? `${first}/${second}` : first;
}

function loaderFor(path: string): "ts" | "tsx" | "js" | "jsx" {
  const extension = extname(path);
  if (extension === ".tsx") return "tsx";
  if (extension === ".jsx") return "jsx";
  return TYPESCRIPT.has(extension) ? "ts" : "js";
}
