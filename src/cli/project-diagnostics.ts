/**
 * W001/W002: is the liveness short-circuit wired in `proxy.ts` / `middleware.ts`,
 * and does that file's `config.matcher` reach the liveness path?
 *
 * Reads the file the way Next does, statically: TypeScript is stripped with
 * esbuild, the module parsed with acorn, and `export const config` read as a
 * literal. Matchers are compiled the way Next compiles them (path-to-regexp 6,
 * with the same optional `/_next/data` prefix and `.json`/`.rsc` suffix).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { HealthConfigIssue } from "../core/errors.js";

const PROXY_FILES = ["proxy", "middleware"].flatMap((name) => [".ts", ".mts", ".js", ".mjs", ".tsx", ".jsx"].map((extension) => `${name}${extension}`));
const HELPERS = new Set(["withLiveness", "liveness"]);

/** Where Next looks for the proxy/middleware file: the project root, then `src/`. */
export function findProxyFiles(projectRoot: string): string[] {
  return [projectRoot, join(projectRoot, "src")].flatMap((dir) => PROXY_FILES.map((name) => join(dir, name))).filter((file) => existsSync(file));
}

/** W001 and W002 for a project; empty when everything is wired. */
export async function diagnoseProject(projectRoot: string, livenessPath: string): Promise<HealthConfigIssue[]> {
  const files = findProxyFiles(projectRoot);
  if (files.length === 0) {
    return [{ code: "W001", path: projectRoot, message: `no proxy.ts or middleware.ts found (in the project root or src/): liveness is not answered before app code. Add one with withLiveness() from "probekit/middleware"` }];
  }
  const issues: HealthConfigIssue[] = [];
  const wired: { file: string; matcher: Matcher; paths: HelperPath[] }[] = [];
  for (const file of files) {
    const analysis = await analyze(file);
    if (analysis.paths.length > 0) wired.push({ file, matcher: analysis.matcher, paths: analysis.paths });
  }
  if (wired.length === 0) {
    issues.push({ code: "W001", path: files.join(", "), message: `does not use withLiveness() or liveness() from "probekit/middleware": liveness is not answered before app code` });
    return issues;
  }
  for (const { file, matcher, paths } of wired) {
    // One liveness truth: the path the helper answers is the config's livenessPath.
    for (const given of paths) {
      const problem = helperPathProblem(given, livenessPath);
      if (problem !== undefined) issues.push({ code: "W002", path: `${file} ${given.helper}()`, message: problem });
    }
    const problem = await matcherProblem(matcher, livenessPath);
    if (problem !== undefined) issues.push({ code: "W002", path: `${file} config.matcher`, message: problem });
  }
  return issues;
}

/** The path a helper call answers: the default, a literal `{ path }`, or something only run time knows. */
type HelperPath = { helper: string; path: string } | { helper: string; path: undefined; why: string };

const DEFAULT_LIVENESS_PATH = "/healthcheck/liveness";

function helperPathProblem(given: HelperPath, livenessPath: string): string | undefined {
  if (given.path === undefined) return `cannot tell which path it answers (${given.why}): give it { path: "${livenessPath}" } as a literal, the config's livenessPath`;
  const trim = (path: string) => (path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path);
  if (trim(given.path) === trim(livenessPath)) return undefined;
  return `answers ${given.path} but the config's livenessPath is ${livenessPath}: the drain, probekit/node and your probes follow the config. Give it { path: "${livenessPath}" }, or set livenessPath: "${given.path}"`;
}

/** What `config.matcher` says: absent (every path), a list of sources, or something we cannot read. */
type Matcher = { kind: "all" } | { kind: "sources"; sources: string[] } | { kind: "unreadable"; why: string };

async function analyze(file: string): Promise<{ paths: HelperPath[]; matcher: Matcher }> {
  const [{ transform }, acorn] = await Promise.all([import("esbuild"), import("acorn")]);
  const source = readFileSync(file, "utf8");
  const loader = file.endsWith("x") ? (file.endsWith(".tsx") ? "tsx" : "jsx") : /\.m?ts$/.test(file) ? "ts" : "js";
  let program: import("acorn").Program;
  try {
    const { code } = await transform(source, { loader, target: "es2022" });
    program = acorn.parse(code, { ecmaVersion: "latest", sourceType: "module" });
  } catch (error) {
    return { paths: [], matcher: { kind: "unreadable", why: `cannot parse: ${String(error).split("\n")[0]}` } };
  }
  return { paths: helperCalls(program), matcher: readMatcher(program) };
}

/**
 * Every call of withLiveness/liveness imported from probekit/middleware, with the path
 * it answers: both take their options second (`withLiveness(handler, { path })`,
 * `liveness(request, { path })`).
 */
function helperCalls(program: import("acorn").Program): HelperPath[] {
  const locals = new Map<string, string>();
  for (const node of program.body) {
    if (node.type !== "ImportDeclaration" || node.source.value !== "probekit/middleware") continue;
    for (const specifier of node.specifiers) {
      if (specifier.type === "ImportSpecifier" && specifier.imported.type === "Identifier" && HELPERS.has(specifier.imported.name)) {
        locals.set(specifier.local.name, specifier.imported.name);
      }
    }
  }
  const calls: HelperPath[] = [];
  if (locals.size === 0) return calls;
  visit(program, (node) => {
    if (node.type !== "CallExpression" || node.callee.type !== "Identifier" || !locals.has(node.callee.name)) return;
    calls.push(helperPath(locals.get(node.callee.name)!, node.arguments[1]));
  });
  return calls;
}

function helperPath(helper: string, options: import("acorn").Node | undefined): HelperPath {
  const expression = options as import("acorn").Expression | undefined;
  if (expression === undefined || (expression.type === "Identifier" && expression.name === "undefined")) return { helper, path: DEFAULT_LIVENESS_PATH };
  if (expression.type !== "ObjectExpression") return { helper, path: undefined, why: "its options are not an object literal" };
  for (const property of expression.properties) {
    if (property.type !== "Property" || property.key.type !== "Identifier" || property.key.name !== "path") continue;
    const path = literalSource(property.value);
    return path === undefined ? { helper, path: undefined, why: "its path is not a string literal" } : { helper, path };
  }
  if (expression.properties.some((property) => property.type === "SpreadElement")) return { helper, path: undefined, why: "its options are spread from elsewhere" };
  return { helper, path: DEFAULT_LIVENESS_PATH };
}

function readMatcher(program: import("acorn").Program): Matcher {
  const declarator = exportedConfig(program);
  if (declarator === undefined) return { kind: "all" };
  if (declarator.init?.type !== "ObjectExpression") return { kind: "unreadable", why: "config is not an object literal" };
  for (const property of declarator.init.properties) {
    if (property.type !== "Property" || property.key.type !== "Identifier" || property.key.name !== "matcher") continue;
    const value = property.value;
    const items = value.type === "ArrayExpression" ? value.elements : [value];
    const sources: string[] = [];
    for (const item of items) {
      const source = item === null ? undefined : literalSource(item);
      if (source === undefined) return { kind: "unreadable", why: "matcher must be string literals or { source } objects, as Next requires" };
      sources.push(source);
    }
    return { kind: "sources", sources };
  }
  return { kind: "all" };
}

/** The top-level `const config = …` the module exports as `config` (directly, or in an export list). */
function exportedConfig(program: import("acorn").Program): import("acorn").VariableDeclarator | undefined {
  let local: string | undefined;
  const declarators = new Map<string, import("acorn").VariableDeclarator>();
  for (const node of program.body) {
    const declaration = node.type === "ExportNamedDeclaration" ? node.declaration : node;
    if (declaration?.type === "VariableDeclaration") {
      for (const declarator of declaration.declarations) {
        if (declarator.id.type !== "Identifier") continue;
        declarators.set(declarator.id.name, declarator);
        if (node.type === "ExportNamedDeclaration" && declarator.id.name === "config") local = "config";
      }
    }
    if (node.type === "ExportNamedDeclaration" && node.source == null) {
      for (const specifier of node.specifiers) {
        const exported = specifier.exported.type === "Identifier" ? specifier.exported.name : specifier.exported.value;
        if (exported === "config" && specifier.local.type === "Identifier") local = specifier.local.name;
      }
    }
  }
  return local === undefined ? undefined : declarators.get(local);
}

function literalSource(node: import("acorn").Node): string | undefined {
  const expression = node as import("acorn").Expression;
  if (expression.type === "Literal" && typeof expression.value === "string") return expression.value;
  if (expression.type === "TemplateLiteral" && expression.expressions.length === 0) return expression.quasis[0]?.value.cooked ?? undefined;
  if (expression.type === "ObjectExpression") {
    for (const property of expression.properties) {
      if (property.type === "Property" && property.key.type === "Identifier" && property.key.name === "source") return literalSource(property.value);
    }
  }
  return undefined;
}

async function matcherProblem(matcher: Matcher, livenessPath: string): Promise<string | undefined> {
  if (matcher.kind === "all") return undefined;
  if (matcher.kind === "unreadable") return `cannot tell whether it reaches ${livenessPath}: ${matcher.why}`;
  const { pathToRegexp } = await import("path-to-regexp");
  const reaches = matcher.sources.some((source) => {
    try {
      return nextMatcherRegExp(source, pathToRegexp).test(livenessPath);
    } catch {
      return false;
    }
  });
  return reaches ? undefined : `none of ${matcher.sources.map((source) => JSON.stringify(source)).join(", ")} matches ${livenessPath}: the liveness helper never runs. Add "${livenessPath}" to the matcher`;
}

/** The regular expression Next builds for one matcher source (see next/dist/build/analysis/get-page-static-info.js). */
function nextMatcherRegExp(source: string, pathToRegexp: typeof import("path-to-regexp").pathToRegexp): RegExp {
  const isRoot = source === "/";
  const suffix = isRoot ? "(/?index|/?index\\.json)?" : "{(\\.json|\\.rsc)}?";
  return pathToRegexp(`/:nextData(_next/data/[^/]{1,})?${source}${suffix}`);
}

function visit(node: unknown, enter: (node: import("acorn").AnyNode) => void): void {
  if (typeof node !== "object" || node === null) return;
  if (Array.isArray(node)) {
    for (const child of node) visit(child, enter);
    return;
  }
  const candidate = node as { type?: unknown };
  if (typeof candidate.type === "string") enter(node as import("acorn").AnyNode);
  for (const [key, value] of Object.entries(node)) {
    if (key !== "loc" && key !== "range") visit(value, enter);
  }
}
