/**
 * `probekit init` on apps laid out as create-next-app lays them out (written here; the
 * e2e test runs it on real create-next-app apps): what it detects, what it writes, the
 * edit of an existing proxy/middleware (and the ones it refuses to make), --dry-run,
 * --force, and a second run that changes nothing.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { applyPlan, editProxy, healthConfigSource, InitError, planDiff, planInit, readProject } from "../../src/cli/init.ts";
import { diagnoseProject } from "../../src/cli/project-diagnostics.ts";

const roots: string[] = [];
after(() => Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }))));

async function app(options: { next?: string; src?: boolean; ts?: boolean; deps?: Record<string, string>; files?: Record<string, string>; alias?: boolean } = {}): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "probekit-init-"));
  roots.push(root);
  const { src = false, ts = true, alias = true } = options;
  await writeFile(join(root, "package.json"), JSON.stringify({ name: "app", dependencies: { next: options.next ?? "16.1.0", react: "^19", ...options.deps } }));
  const appDir = join(root, src ? "src/app" : "app");
  await mkdir(appDir, { recursive: true });
  await writeFile(join(appDir, `page.${ts ? "tsx" : "jsx"}`), "export default function Page() { return null; }\n");
  const paths = alias ? { "@/*": [src ? "./src/*" : "./*"] } : undefined;
  // create-next-app's tsconfig has comments and trailing commas in places: keep one of each.
  await writeFile(join(root, ts ? "tsconfig.json" : "jsconfig.json"), `{\n  // made by the test\n  "compilerOptions": { "strict": true, "paths": ${JSON.stringify(paths ?? {})}, },\n}\n`);
  for (const [file, content] of Object.entries(options.files ?? {})) {
    await mkdir(join(root, file, ".."), { recursive: true });
    await writeFile(join(root, file), content);
  }
  return root;
}

const EXPORTS = Object.keys((JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { exports: Record<string, unknown> }).exports);

/**
 * Evaluates the health config init wrote, as the app would, with probekit's entries
 * read from this repository's src/: the names of the checks in each subset.
 */
async function evaluateConfig(root: string, source: string): Promise<Record<string, string[]>> {
  const local = source.replace(/"probekit(\/[^"]*)?"/g, (_, entry: string | undefined) => {
    assert.ok(EXPORTS.includes(`.${entry ?? ""}`), `probekit${entry ?? ""} is not an entry of the package`);
    return JSON.stringify(new URL(`../../src${entry ?? "/index"}.ts`, import.meta.url).href);
  });
  const file = join(root, "health.config.mts");
  await writeFile(file, local);
  const { default: config } = (await import(pathToFileURL(file).href)) as { default: { subsets: Record<string, { name: string }[]> } };
  return Object.fromEntries(Object.entries(config.subsets).map(([subset, checks]) => [subset, checks.map((check) => check.name)]));
}

describe("probekit init: the app it finds", () => {
  it("Next major, app folder, TypeScript or not, the root alias", async () => {
    const plain = readProject(await app({ next: "^15.5.0", ts: false }));
    assert.deepEqual([plain.nextMajor, plain.appDir, plain.typescript, plain.rootAlias], [15, "app", false, "@/"]);
    const withSrc = readProject(await app({ src: true }));
    assert.deepEqual([withSrc.nextMajor, withSrc.appDir, withSrc.typescript, withSrc.rootAlias], [16, "src/app", true, undefined], "@/* → ./src/* is not the root");
  });

  it("refuses what is not a Next 15/16 App Router app, with one clear message", async () => {
    const empty = await mkdtemp(join(tmpdir(), "probekit-init-"));
    roots.push(empty);
    assert.throws(() => readProject(empty), (error: unknown) => error instanceof InitError && /no package\.json/.test(error.message));
    await writeFile(join(empty, "package.json"), "{ not json");
    assert.throws(() => readProject(empty), /package\.json is not valid JSON/);
    await writeFile(join(empty, "package.json"), JSON.stringify({ dependencies: { react: "^19" } }));
    assert.throws(() => readProject(empty), /next is not a dependency/);
    const old = await app({ next: "14.2.0" });
    assert.throws(() => readProject(old), /supports Next\.js 15 and 16 \(found 14\)/);
    const pages = await app();
    await rm(join(pages, "app"), { recursive: true });
    assert.throws(() => readProject(pages), /no App Router folder/);
  });
});

describe("probekit init: what it writes", () => {
  it("checks for the drivers the app has, each from its usual environment variable", async () => {
    const project = readProject(await app({ deps: { postgres: "^3", ioredis: "^5", "@upstash/redis": "^1", amqplib: "^0.10", pg: "^8", "@prisma/client": "^6" } }));
    const source = healthConfigSource(project);
    assert.match(source, /import \{ postgresHeartbeat \} from "probekit\/checks\/postgres";/);
    assert.match(source, /import \{ redisPing \} from "probekit\/checks\/ioredis";/);
    assert.doesNotMatch(source, /checks\/upstash/, "one redisPing: the TCP client's");
    assert.match(source, /postgresHeartbeat\(\{ url: process\.env\.DATABASE_URL \}\)/);
    assert.match(source, /redisPing\(\{ url: process\.env\.REDIS_URL \}\)/);
    assert.match(source, /rabbitmq\(\{ url: process\.env\.RABBITMQ_URL \}\)/);
    assert.match(source, /\/\/ postgresHeartbeat\(\{ client: pool \}\)/);
    assert.match(source, /\/\/ prismaHeartbeat\(\{ prisma \}\)/);
    assert.match(source, /liveness: \[\],\n {4}readiness: \[\n {6}memory\(\),\n {6}postgresHeartbeat/);
  });

  it("each driver alone: its import, its check from its usual variable, and the subsets it joins", async () => {
    const cases = [
      { dep: "mysql2", imports: 'import { mysqlHeartbeat } from "probekit/checks/mysql";', line: "mysqlHeartbeat({ url: process.env.DATABASE_URL }),", check: "mysql", readiness: true },
      { dep: "@neondatabase/serverless", imports: 'import { neonHeartbeat } from "probekit/checks/neon";', line: "neonHeartbeat({ url: process.env.DATABASE_URL }),", check: "postgres", readiness: true },
      { dep: "redis", imports: 'import { redisPing } from "probekit/checks/node-redis";', line: "redisPing({ url: process.env.REDIS_URL }),", check: "redis", readiness: false },
      {
        dep: "@upstash/redis",
        imports: 'import { redisPing } from "probekit/checks/upstash";',
        line: 'redisPing({ name: "upstash", upstash: { url: process.env.UPSTASH_REDIS_REST_URL ?? "", token: process.env.UPSTASH_REDIS_REST_TOKEN ?? "" } }),',
        check: "upstash",
        readiness: false,
      },
      { dep: "@vercel/edge-config", imports: 'import { edgeConfig } from "probekit/checks/edge-config";', line: "edgeConfig(),", check: "edge-config", readiness: false },
    ];
    for (const { dep, imports, line, check, readiness } of cases) {
      const root = await app({ deps: { [dep]: "^1" } });
      const source = healthConfigSource(readProject(root));
      assert.ok(source.split("\n").includes(imports), `${dep}: ${imports}\n${source}`);
      assert.ok(source.split("\n").includes(`      ${line}`), `${dep}: ${line}\n${source}`);
      assert.deepEqual(
        await evaluateConfig(root, source),
        { liveness: [], readiness: readiness ? ["memory", check] : ["memory"], integrations: ["memory", check, "disk"] },
        dep,
      );
    }
  });

  it("bullmq and drizzle-orm get a commented line to finish by hand, and no check", async () => {
    const root = await app({ deps: { bullmq: "^5", "drizzle-orm": "^0.44" } });
    const source = healthConfigSource(readProject(root));
    const integrations = /integrations: \[\n([\s\S]*?)\n {4}\],/.exec(source)?.[1]?.split("\n");
    assert.deepEqual(integrations, [
      "      memory(),",
      "      diskUsage({ critical: false }),",
      '      // bullmqWorkers({ queues: ["your-queue"], connection: { url: process.env.REDIS_URL } }) — from "probekit/checks/bullmq"',
      "      // Drizzle: pass db.$client to the check of its driver (see the README's Drizzle section)",
    ]);
    assert.deepEqual(await evaluateConfig(root, source), { liveness: [], readiness: ["memory"], integrations: ["memory", "disk"] });
  });

  it("a fresh app: the config, the route (through the alias) and a new proxy.ts; probekit check then finds no problem", async () => {
    const root = await app();
    const plan = await planInit(root);
    assert.deepEqual(plan.changes.map((change) => change.file), ["health.config.ts", "app/healthcheck/[subset]/route.ts", "proxy.ts"]);
    applyPlan(plan);
    assert.match(readFileSync(join(root, "app/healthcheck/[subset]/route.ts"), "utf8"), /^import config from "@\/health\.config";/);
    assert.deepEqual(await diagnoseProject(root, "/healthcheck/liveness"), []);
    const again = await planInit(root);
    assert.deepEqual(again.changes, [], "a second run changes nothing");
    assert.deepEqual(again.kept.map((kept) => kept.file), ["health.config.ts", "proxy.ts"]);
  });

  it("Next 15, JavaScript, src/ and no alias: middleware.js in src/, a relative import", async () => {
    const root = await app({ next: "15.3.0", ts: false, src: true, alias: false });
    const plan = await planInit(root);
    assert.deepEqual(plan.changes.map((change) => change.file), ["health.config.js", "src/app/healthcheck/[subset]/route.js", "src/middleware.js"]);
    applyPlan(plan);
    assert.match(readFileSync(join(root, "src/app/healthcheck/[subset]/route.js"), "utf8"), /^import config from "\.\.\/\.\.\/\.\.\/\.\.\/health\.config";/);
    assert.deepEqual(await diagnoseProject(root, "/healthcheck/liveness"), []);
  });

  it("nothing is overwritten without --force; --dry-run prints a diff and writes nothing", async () => {
    const root = await app({ files: { "health.config.ts": "// mine\n" } });
    const plan = await planInit(root);
    assert.ok(plan.kept.some((kept) => kept.file === "health.config.ts" && /--force/.test(kept.why)));
    const diff = await planDiff(plan);
    assert.match(diff, /\+\+\+ b\/proxy\.ts/);
    assert.match(diff, /\+export default withLiveness\(\);/);
    assert.equal(existsSync(join(root, "proxy.ts")), false, "planning writes nothing");
    const forced = await planInit(root, { force: true });
    assert.ok(forced.changes.some((change) => change.file === "health.config.ts" && change.before === "// mine\n"));
  });
});

describe("probekit init: an existing proxy or middleware", () => {
  const MIDDLEWARE = `import { NextResponse } from "next/server";
import type { NextRequest } from "next/server";

// The app's own logic: keep it, comments included.
export function middleware(request: NextRequest) {
  if (!request.cookies.has("session")) return NextResponse.redirect(new URL("/login", request.url));
  return NextResponse.next();
}

export const config = {
  matcher: ["/dashboard/:path*", "/account/:path*"],
};
`;

  it("wraps a named middleware function and adds the liveness path to its matcher, keeping the rest", async () => {
    const edited = await editProxy(MIDDLEWARE, "/app/middleware.ts");
    assert.equal(typeof edited, "string");
    const text = edited as string;
    assert.match(text, /^import \{ withLiveness \} from "probekit\/middleware";\n/);
    assert.match(text, /\/\/ The app's own logic: keep it, comments included\./);
    assert.match(text, /\nfunction middleware\(request: NextRequest\) \{/);
    assert.match(text, /\nexport default withLiveness\(middleware\);\n$/);
    assert.match(text, /matcher: \["\/healthcheck\/liveness", "\/dashboard\/:path\*", "\/account\/:path\*"\]/);
  });

  it("a default export (function, expression or a string matcher) is wrapped the same way", async () => {
    const fn = await editProxy(`export default async function proxy(request) { return undefined; }\nexport const config = { matcher: "/admin/:path*" };\n`, "/app/proxy.js");
    assert.match(fn as string, /\nasync function proxy\(request\)/);
    assert.match(fn as string, /export default withLiveness\(proxy\);/);
    assert.match(fn as string, /matcher: \["\/healthcheck\/liveness", "\/admin\/:path\*"\]/);
    const expression = await editProxy(`import { auth } from "./auth";\nexport default auth;\n`, "/app/proxy.ts");
    assert.match(expression as string, /export default withLiveness\(auth\);/);
  });

  it("refuses what it cannot edit safely — a syntax error, a matcher that is a variable, no export it knows — and says what to add", async () => {
    assert.match((await editProxy("export function middleware(request {\n", "/app/middleware.ts") as { why: string }).why, /does not parse/);
    const variable = MIDDLEWARE.replace(`matcher: ["/dashboard/:path*", "/account/:path*"]`, "matcher: routes");
    assert.match((await editProxy(variable, "/app/middleware.ts") as { why: string }).why, /not a string or array literal/);
    assert.match((await editProxy("export const handler = () => {};\n", "/app/proxy.ts") as { why: string }).why, /no default export/);
    const multiline = `import { auth } from "./auth";\nexport default auth(function proxy(request) {\n  return undefined;\n});\n`;
    assert.match((await editProxy(multiline, "/app/proxy.ts") as { why: string }).why, /does not edit \(over several lines, say\)/);

    const root = await app({ next: "15.2.0", files: { "middleware.ts": variable } });
    const plan = await planInit(root);
    assert.ok(plan.kept.some((kept) => kept.file === "middleware.ts" && /not edited/.test(kept.why)));
    assert.ok(plan.manual.some((line) => /withLiveness\(yourProxyFunction\)/.test(line)));
    applyPlan(plan);
    assert.equal(readFileSync(join(root, "middleware.ts"), "utf8"), variable, "the file is left exactly as it was");
  });

  it("end to end on a planned app: the edited middleware passes probekit check's diagnostics, and a second run keeps it", async () => {
    const root = await app({ next: "15.2.0", files: { "middleware.ts": MIDDLEWARE } });
    applyPlan(await planInit(root));
    assert.deepEqual(await diagnoseProject(root, "/healthcheck/liveness"), []);
    const again = await planInit(root);
    assert.deepEqual(again.changes, []);
    assert.ok(again.kept.some((kept) => kept.file === "middleware.ts" && /already answers liveness/.test(kept.why)));
  });
});
