/**
 * `probekit init`: adds probekit to an existing Next.js 15 or 16 App Router app — the
 * health config (checks for the drivers the app's package.json already has), the
 * `[subset]` route, and the liveness short-circuit in the app's own `proxy.ts` (16) or
 * `middleware.ts` (15), wrapping its default export and extending its matcher. An edit
 * it cannot make safely (a file that does not parse, a matcher that is not a literal, an
 * export it does not recognise) is not made: the lines to add are printed instead.
 * Nothing is overwritten without --force; a second run changes nothing.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { DEFAULT_OPTIONS } from "../core/config.js";
import { diagnoseProject, findProxyFiles } from "./project-diagnostics.js";

const LIVENESS = DEFAULT_OPTIONS.livenessPath;

export class InitError extends Error {
  override name = "InitError";
}

export interface Project {
  root: string;
  nextMajor: number;
  /** "src/app" or "app". */
  appDir: string;
  typescript: boolean;
  /** The import alias for the project root's files (`@/` when `@/*` maps to the root), if any. */
  rootAlias: string | undefined;
  dependencies: Set<string>;
}

export interface Change {
  file: string;
  /** undefined: a new file. */
  before: string | undefined;
  after: string;
}

export interface Plan {
  project: Project;
  changes: Change[];
  /** Files left as they are, and why. */
  kept: { file: string; why: string }[];
  /** What to add by hand, when an edit could not be made safely. */
  manual: string[];
}

/** Reads what init needs to know of the app in `root`. */
export function readProject(root: string): Project {
  const manifestFile = join(root, "package.json");
  if (!existsSync(manifestFile)) throw new InitError(`no package.json in ${root}: run probekit init in the Next.js app's folder`);
  let manifest: { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  try {
    manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
  } catch (error) {
    throw new InitError(`package.json is not valid JSON: ${String(error).split("\n")[0]}`);
  }
  const dependencies = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})]);
  if (!dependencies.has("next")) throw new InitError(`next is not a dependency in ${manifestFile}: probekit init is for Next.js apps`);
  const nextMajor = installedNextMajor(root) ?? Number(/(\d+)/.exec(manifest.dependencies?.next ?? manifest.devDependencies?.next ?? "")?.[1]);
  if (!(nextMajor >= 15)) throw new InitError(`probekit init supports Next.js 15 and 16 (found ${Number.isNaN(nextMajor) ? "an unknown version" : nextMajor})`);
  const appDir = existsSync(join(root, "src", "app")) ? "src/app" : existsSync(join(root, "app")) ? "app" : undefined;
  if (appDir === undefined) throw new InitError("no App Router folder (app/ or src/app/): probekit init adds an App Router route");
  const typescript = existsSync(join(root, "tsconfig.json"));
  return { root, nextMajor, appDir, typescript, rootAlias: rootAlias(root, typescript), dependencies };
}

function installedNextMajor(root: string): number | undefined {
  try {
    return Number((JSON.parse(readFileSync(join(root, "node_modules", "next", "package.json"), "utf8")) as { version: string }).version.split(".")[0]);
  } catch {
    return undefined;
  }
}

/** The alias whose target is the project root (`"@/*": ["./*"]`), from tsconfig/jsconfig paths. */
function rootAlias(root: string, typescript: boolean): string | undefined {
  const file = join(root, typescript ? "tsconfig.json" : "jsconfig.json");
  let paths: Record<string, string[]> | undefined;
  try {
    // tsconfig allows comments and trailing commas: strip them before JSON.parse.
    const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|(^|[^:"])\/\/.*$/gm, "$1").replace(/,(\s*[}\]])/g, "$1");
    paths = (JSON.parse(text) as { compilerOptions?: { paths?: Record<string, string[]> } }).compilerOptions?.paths;
  } catch {
    return undefined;
  }
  for (const [alias, targets] of Object.entries(paths ?? {})) {
    if (alias.endsWith("/*") && targets.some((target) => target === "./*" || target === "*")) return alias.slice(0, -1);
  }
  return undefined;
}

interface Driver {
  package: string;
  entry: string;
  names: string[];
  lines: string[];
}

/** The checks for the drivers an app already has, each from its usual environment variable. */
const DRIVERS: Driver[] = [
  { package: "postgres", entry: "probekit/checks/postgres", names: ["postgresHeartbeat"], lines: ["postgresHeartbeat({ url: process.env.DATABASE_URL })"] },
  { package: "mysql2", entry: "probekit/checks/mysql", names: ["mysqlHeartbeat"], lines: ["mysqlHeartbeat({ url: process.env.DATABASE_URL })"] },
  { package: "@neondatabase/serverless", entry: "probekit/checks/neon", names: ["neonHeartbeat"], lines: ["neonHeartbeat({ url: process.env.DATABASE_URL })"] },
  { package: "ioredis", entry: "probekit/checks/ioredis", names: ["redisPing"], lines: ["redisPing({ url: process.env.REDIS_URL })"] },
  { package: "redis", entry: "probekit/checks/node-redis", names: ["redisPing"], lines: ["redisPing({ url: process.env.REDIS_URL })"] },
  {
    package: "@upstash/redis",
    entry: "probekit/checks/upstash",
    names: ["redisPing"],
    lines: ['redisPing({ name: "upstash", upstash: { url: process.env.UPSTASH_REDIS_REST_URL ?? "", token: process.env.UPSTASH_REDIS_REST_TOKEN ?? "" } })'],
  },
  { package: "amqplib", entry: "probekit/checks/rabbitmq", names: ["rabbitmq"], lines: ["rabbitmq({ url: process.env.RABBITMQ_URL })"] },
  { package: "@vercel/edge-config", entry: "probekit/checks/edge-config", names: ["edgeConfig"], lines: ["edgeConfig()"] },
];

/** Drivers whose check needs the app's own client or names: a commented line to finish by hand. */
const BY_HAND: Record<string, string> = {
  pg: '// postgresHeartbeat({ client: pool }) — your pg Pool, from "probekit/checks/postgres"',
  "@prisma/client": '// prismaHeartbeat({ prisma }) — your PrismaClient, from "probekit/checks/prisma"',
  bullmq: '// bullmqWorkers({ queues: ["your-queue"], connection: { url: process.env.REDIS_URL } }) — from "probekit/checks/bullmq"',
  "drizzle-orm": "// Drizzle: pass db.$client to the check of its driver (see the README's Drizzle section)",
};

export function healthConfigSource(project: Project): string {
  const drivers = DRIVERS.filter((driver) => project.dependencies.has(driver.package));
  // One redisPing only, from the TCP client if the app has one.
  const chosen = drivers.filter((driver, index) => !(driver.names.includes("redisPing") && drivers.findIndex((other) => other.names.includes("redisPing")) !== index));
  const imports = new Map<string, Set<string>>([["probekit/checks/system", new Set(["diskUsage", "memory"])]]);
  for (const driver of chosen) {
    const names = imports.get(driver.entry) ?? new Set<string>();
    for (const name of driver.names) names.add(name);
    imports.set(driver.entry, names);
  }
  const dependencyChecks = chosen.flatMap((driver) => driver.lines);
  const byHand = Object.entries(BY_HAND).filter(([name]) => project.dependencies.has(name)).map(([, line]) => `      ${line}`);
  const readiness = ["memory()", ...dependencyChecks.filter((line) => !line.startsWith("redisPing") && !line.startsWith("edgeConfig"))];
  const integrations = ["memory()", ...dependencyChecks, "diskUsage({ critical: false })"];
  const list = (lines: string[]) => lines.map((line) => `      ${line},`).join("\n");
  return [
    `import { defineHealthConfig } from "probekit";`,
    ...[...imports].map(([entry, names]) => `import { ${[...names].sort().join(", ")} } from "${entry}";`),
    "",
    "// Written by probekit init: /healthcheck/liveness is answered by the short-circuit in",
    `// ${project.nextMajor >= 16 ? "proxy" : "middleware"}.${project.typescript ? "ts" : "js"}; readiness gates traffic; integrations is everything the app talks to.`,
    "export default defineHealthConfig({",
    "  subsets: {",
    "    liveness: [],",
    "    readiness: [",
    list(readiness),
    "    ],",
    "    integrations: [",
    list(integrations),
    ...byHand,
    "    ],",
    "  },",
    "});",
    "",
  ].join("\n");
}

function routeSource(project: Project): string {
  const configFile = `health.config`;
  const routeDir = join(project.appDir, "healthcheck", "[subset]");
  const from = project.rootAlias !== undefined ? `${project.rootAlias}${configFile}` : relative(routeDir, configFile).replaceAll("\\", "/");
  return [`import config from "${from}";`, `import { createHealthRoute } from "probekit/next";`, "", "export const { GET, HEAD } = createHealthRoute(config);", ""].join("\n");
}

function newProxySource(project: Project): string {
  return [
    `import { withLiveness } from "probekit/middleware";`,
    "",
    `// Answers ${LIVENESS} before any app code; every other request goes on as if there were no ${project.nextMajor >= 16 ? "proxy" : "middleware"}.`,
    "export default withLiveness();",
    "",
    "export const config = {",
    `  matcher: ["${LIVENESS}"],`,
    "};",
    "",
  ].join("\n");
}

/** Everything init would write, without writing it. */
export async function planInit(root: string, options: { force?: boolean } = {}): Promise<Plan> {
  const project = readProject(root);
  const extension = project.typescript ? "ts" : "js";
  const plan: Plan = { project, changes: [], kept: [], manual: [] };
  const write = (file: string, after: string) => {
    const path = join(root, file);
    const before = existsSync(path) ? readFileSync(path, "utf8") : undefined;
    if (before === after) return;
    if (before !== undefined && !options.force) {
      plan.kept.push({ file, why: "exists (--force to replace it)" });
      return;
    }
    plan.changes.push({ file, before, after });
  };
  const existingConfig = ["ts", "mts", "js", "mjs"].map((ext) => `health.config.${ext}`).find((file) => existsSync(join(root, file)) || existsSync(join(root, "src", file)));
  if (existingConfig !== undefined && !options.force) plan.kept.push({ file: existingConfig, why: "exists (--force to replace it)" });
  else write(`health.config.${extension}`, healthConfigSource(project));
  write(join(project.appDir, "healthcheck", "[subset]", `route.${extension}`), routeSource(project));
  await planProxy(project, plan, extension);
  return plan;
}

async function planProxy(project: Project, plan: Plan, extension: string): Promise<void> {
  const name = project.nextMajor >= 16 ? "proxy" : "middleware";
  const base = project.appDir.startsWith("src/") ? "src" : ".";
  const existing = findProxyFiles(project.root);
  if (existing.length === 0) {
    plan.changes.push({ file: join(base, `${name}.${extension}`).replace(/^\.\//, ""), before: undefined, after: newProxySource(project) });
    return;
  }
  const file = existing[0]!;
  const shown = relative(project.root, file);
  const source = readFileSync(file, "utf8");
  if ((await diagnoseProject(project.root, LIVENESS)).length === 0) {
    plan.kept.push({ file: shown, why: "already answers liveness with withLiveness" });
    return;
  }
  const edited = await editProxy(source, file);
  if (typeof edited === "string") {
    plan.changes.push({ file: shown, before: source, after: edited });
    return;
  }
  plan.kept.push({ file: shown, why: `not edited: ${edited.why}` });
  plan.manual.push(
    `In ${shown}, answer liveness before your own code, and let the matcher reach it:`,
    `  import { withLiveness } from "probekit/middleware";`,
    `  export default withLiveness(yourProxyFunction);   // and add "${LIVENESS}" to config.matcher`,
  );
}

/**
 * Wraps the file's default export (or its named `middleware`/`proxy` function) with
 * withLiveness and adds the liveness path to a literal matcher; the result is checked
 * with the same diagnostics `probekit check` runs, or not used.
 */
export async function editProxy(source: string, file: string): Promise<string | { why: string }> {
  const { transform } = await import("esbuild");
  const loader = file.endsWith("x") ? (file.endsWith(".tsx") ? "tsx" : "jsx") : /\.m?ts$/.test(file) ? "ts" : "js";
  try {
    await transform(source, { loader });
  } catch (error) {
    return { why: `it does not parse (${String(error).split("\n")[1]?.trim() ?? "syntax error"})` };
  }
  let text = source;
  const defaultFunction = /^export default (async\s+)?function\s+([A-Za-z_$][\w$]*)\s*\(/m.exec(text);
  const anonymousFunction = /^export default (async\s+)?function\s*\(/m.exec(text);
  const defaultExpression = /^export default (?!(async\s+)?function\b)([^;\n]+);?\s*$/m.exec(text);
  const named = /^export (async\s+)?function\s+(middleware|proxy)\s*\(/m.exec(text);
  if (defaultFunction !== null) {
    text = text.replace(defaultFunction[0], `${defaultFunction[1] ?? ""}function ${defaultFunction[2]}(`);
    text = `${text.trimEnd()}\n\nexport default withLiveness(${defaultFunction[2]});\n`;
  } else if (anonymousFunction !== null) {
    text = text.replace(anonymousFunction[0], `${anonymousFunction[1] ?? ""}function appProxy(`);
    text = `${text.trimEnd()}\n\nexport default withLiveness(appProxy);\n`;
  } else if (defaultExpression !== null) {
    text = text.replace(defaultExpression[0], `export default withLiveness(${defaultExpression[2]!.trim()});`);
  } else if (named !== null) {
    text = text.replace(named[0], `${named[1] ?? ""}function ${named[2]}(`);
    text = `${text.trimEnd()}\n\nexport default withLiveness(${named[2]});\n`;
  } else {
    return { why: "it has no default export or middleware/proxy function that init recognises" };
  }
  const matcher = extendMatcher(text);
  if (typeof matcher !== "string") return matcher;
  text = `import { withLiveness } from "probekit/middleware";\n${matcher}`;
  try {
    await transform(text, { loader });
  } catch {
    return { why: "its default export is written in a way init does not edit (over several lines, say)" };
  }
  // The edit must satisfy the same diagnostics probekit check runs (W001, W002), or it is not made.
  const scratch = mkdtempSync(join(tmpdir(), "probekit-init-"));
  try {
    writeFileSync(join(scratch, file.split("/").pop()!), text);
    const problems = await diagnoseProject(scratch, LIVENESS);
    if (problems.length > 0) return { why: problems.map((problem) => problem.message).join("; ") };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return text;
}

/** Adds the liveness path to `export const config = { matcher: … }` when it is a string or an array literal. */
function extendMatcher(text: string): string | { why: string } {
  const config = /export const config\s*(?::[^=]+)?=\s*\{/.exec(text);
  if (config === null) return text; // no matcher: every path reaches the proxy
  const at = text.indexOf("matcher", config.index);
  if (at === -1) return text;
  const value = /^matcher\s*:\s*/.exec(text.slice(at));
  if (value === null) return { why: "its matcher is not written as matcher: […]" };
  const start = at + value[0].length;
  const first = text[start];
  if (first === "[") return `${text.slice(0, start + 1)}"${LIVENESS}", ${text.slice(start + 1)}`;
  if (first === '"' || first === "'" || first === "`") {
    const end = text.indexOf(first, start + 1);
    if (end === -1) return { why: "its matcher string does not end" };
    return `${text.slice(0, start)}["${LIVENESS}", ${text.slice(start, end + 1)}]${text.slice(end + 1)}`;
  }
  return { why: "its matcher is not a string or array literal (Next requires literals; init does not guess what a variable holds)" };
}

/** Writes the plan's changes; a file is written whole, after its folder exists. */
export function applyPlan(plan: Plan): void {
  for (const change of plan.changes) {
    const path = join(plan.project.root, change.file);
    mkdirSync(dirname(path), { recursive: true });
    // Written to a side file first, then renamed over: no file is ever half-written.
    writeFileSync(`${path}.probekit-init`, change.after);
    renameSync(`${path}.probekit-init`, path);
  }
}

/** The plan as a unified diff. */
export async function planDiff(plan: Plan): Promise<string> {
  const { createTwoFilesPatch } = await import("diff");
  return plan.changes.map((change) => createTwoFilesPatch(change.before === undefined ? "/dev/null" : `a/${change.file}`, `b/${change.file}`, change.before ?? "", change.after)).join("");
}
