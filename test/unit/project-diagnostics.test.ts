import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { diagnoseProject } from "../../src/cli/project-diagnostics.ts";

const roots: string[] = [];
after(() => Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }))));

/** A project folder holding the given files. */
async function project(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "probekit-project-"));
  roots.push(root);
  for (const [file, content] of Object.entries(files)) {
    await mkdir(join(root, file, ".."), { recursive: true });
    await writeFile(join(root, file), content);
  }
  return root;
}

const codes = async (files: Record<string, string>, livenessPath = "/healthcheck/liveness") =>
  (await diagnoseProject(await project(files), livenessPath)).map((issue) => issue.code);

const proxyWith = (config: string, helperOptions = "") => `
import { NextResponse, type NextRequest } from "next/server";
import { withLiveness } from "probekit/middleware";

function auth(request: NextRequest): NextResponse {
  return NextResponse.next();
}

export default withLiveness(auth${helperOptions ? `, ${helperOptions}` : ""});
${config}
`;

describe("W001: the liveness helper is wired", () => {
  it("warns when there is no proxy.ts or middleware.ts", async () => {
    assert.deepEqual(await codes({ "app/page.tsx": "export default () => null;" }), ["W001"]);
  });

  it("warns when the file does not use the helper", async () => {
    assert.deepEqual(await codes({ "proxy.ts": `export function proxy(request: Request) { return undefined; }` }), ["W001"]);
    assert.deepEqual(await codes({ "middleware.ts": `import { withLiveness } from "probekit/middleware";\nexport function middleware() {}` }), ["W001"], "imported but never called");
    assert.deepEqual(await codes({ "proxy.ts": `import { withLiveness } from "some-other-lib";\nexport default withLiveness();` }), ["W001"], "another package's withLiveness");
  });

  it("accepts withLiveness or liveness, renamed or not, in proxy or middleware, at the root or in src/", async () => {
    assert.deepEqual(await codes({ "proxy.ts": proxyWith("") }), []);
    assert.deepEqual(await codes({ "src/middleware.ts": `import { liveness } from "probekit/middleware";\nexport function middleware(request: Request) { return liveness(request); }` }), []);
    assert.deepEqual(await codes({ "proxy.js": `import { withLiveness as live } from "probekit/middleware";\nexport default live();` }), []);
    assert.deepEqual(await codes({ "src/proxy.tsx": `import { withLiveness } from "probekit/middleware";\nconst el = <div />;\nexport default withLiveness();` }), []);
  });
});

describe("W002: config.matcher reaches the liveness path", () => {
  it("no matcher means every path", async () => {
    assert.deepEqual(await codes({ "proxy.ts": proxyWith("export const config = { runtime: 'nodejs' };") }), []);
  });

  it("accepts matchers that reach the path, the way Next compiles them", async () => {
    for (const matcher of [
      `["/healthcheck/liveness", "/((?!_next/static).*)"]`,
      `"/((?!_next/static|_next/image|favicon.ico).*)"`,
      `"/healthcheck/:path*"`,
      `["/dashboard/:path*", { source: "/healthcheck/liveness" }]`,
      "[`/healthcheck/liveness`]",
      `"/:path*"`,
    ]) {
      assert.deepEqual(await codes({ "proxy.ts": proxyWith(`export const config = { matcher: ${matcher} } satisfies { matcher: unknown };`) }), [], matcher);
    }
  });

  it("warns for matchers that never reach it, naming them", async () => {
    for (const matcher of [`"/dashboard/:path*"`, `["/((?!api|healthcheck).*)"]`, `["/healthcheck/readiness"]`, `"/healthcheck/liveness/:rest+"`]) {
      const issues = await diagnoseProject(await project({ "proxy.ts": proxyWith(`export const config = { matcher: ${matcher} };`) }), "/healthcheck/liveness");
      assert.deepEqual(issues.map((issue) => issue.code), ["W002"], matcher);
      assert.match(issues[0]!.message, /matches \/healthcheck\/liveness: the liveness helper never runs/);
    }
  });

  it("reads a config exported from an export list", async () => {
    const files = { "proxy.ts": proxyWith(`const settings = { matcher: ["/dashboard"] };\nexport { settings as config };`) };
    assert.deepEqual(await codes(files), ["W002"]);
  });

  it("checks the configured liveness path", async () => {
    const files = { "proxy.ts": proxyWith(`export const config = { matcher: ["/healthcheck/liveness"] };`, `{ path: "/livez" }`) };
    assert.deepEqual(await codes(files, "/livez"), ["W002"]);
    assert.deepEqual(await codes({ "proxy.ts": proxyWith(`export const config = { matcher: ["/livez"] };`, `{ path: "/livez" }`) }, "/livez"), []);
  });

  it("the path given to withLiveness or liveness is the config's livenessPath (one liveness truth)", async () => {
    const matcher = `export const config = { matcher: ["/livez", "/healthcheck/liveness"] };`;
    const issuesOf = async (helperOptions: string, livenessPath: string) => diagnoseProject(await project({ "proxy.ts": proxyWith(matcher, helperOptions) }), livenessPath);

    // The helper's default against a config that moved the path.
    const moved = await issuesOf("", "/livez");
    assert.deepEqual(moved.map((issue) => issue.code), ["W002"]);
    assert.match(moved[0]!.path, /proxy\.ts withLiveness\(\)$/);
    assert.match(moved[0]!.message, /answers \/healthcheck\/liveness but the config's livenessPath is \/livez/);
    // A literal path that differs, and one that only differs by a trailing slash.
    assert.deepEqual((await issuesOf(`{ path: "/livez" }`, "/healthcheck/liveness")).map((issue) => issue.code), ["W002"]);
    assert.deepEqual(await issuesOf(`{ path: "/livez/" }`, "/livez"), []);
    assert.deepEqual(await issuesOf(`{ path: \`/livez\` }`, "/livez"), []);
    // What only run time knows is said, not guessed.
    const dynamic = await issuesOf(`{ path: process.env.LIVENESS_PATH }`, "/livez");
    assert.deepEqual(dynamic.map((issue) => issue.code), ["W002"]);
    assert.match(dynamic[0]!.message, /cannot tell which path it answers \(its path is not a string literal\)/);
    assert.match((await issuesOf("options", "/livez"))[0]!.message, /its options are not an object literal/);
  });

  it("liveness(request, { path }) inside the app's own function is read too", async () => {
    const source = `
import { liveness } from "probekit/middleware";
export function proxy(request: Request) {
  return liveness(request, { path: "/ping" }) ?? fetch(request);
}`;
    const issues = await diagnoseProject(await project({ "middleware.ts": source }), "/healthcheck/liveness");
    assert.deepEqual(issues.map((issue) => issue.code), ["W002"]);
    assert.match(issues[0]!.message, /answers \/ping but the config's livenessPath is \/healthcheck\/liveness/);
    assert.deepEqual(await diagnoseProject(await project({ "middleware.ts": source }), "/ping"), []);
  });

  it("says so when the matcher is not a static value, as Next requires", async () => {
    const issues = await diagnoseProject(await project({ "proxy.ts": proxyWith(`const paths = ["/x"];\nexport const config = { matcher: paths };`) }), "/healthcheck/liveness");
    assert.deepEqual(issues.map((issue) => issue.code), ["W002"]);
    assert.match(issues[0]!.message, /cannot tell/);
  });

  it("a file that does not parse is reported, not a crash", async () => {
    assert.deepEqual(await codes({ "proxy.ts": "export default withLiveness(((" }), ["W001"]);
  });
});
