/**
 * `probekit init` on apps made by the real create-next-app: Next 16 (TypeScript, src/,
 * an existing proxy.ts with its own matcher and logic) and Next 15 (JavaScript, no src/,
 * no middleware). After init: a second init changes nothing, `probekit check` reports no
 * problem, `next build` passes, liveness answers from the short-circuit, readiness
 * answers, and the app's own proxy logic still runs. Slow: npm install and next build
 * per app.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { APP_PROXY } from "../fixtures/app-proxy.ts";
import { freePort } from "../helpers/net.ts";
import { assertDistBuilt, childEnv, freshWorkdir, LIVENESS_HEADER, MINUTE, nextBin, packTarball, runCommand, startServer, stopProcessGroup } from "../helpers/next-app.ts";

interface Variant {
  name: string;
  createNextApp: string;
  flags: string[];
  /** Files the app has before init (its own proxy or middleware). */
  files: Record<string, string>;
  expectWritten: string[];
  expectEdited: string[];
}

const VARIANTS: Variant[] = [
  {
    name: "Next 16, TypeScript, src/, an existing proxy.ts with its own matcher",
    createNextApp: "create-next-app@16",
    flags: ["--ts", "--src-dir", "--import-alias", "@/*"],
    files: { "src/proxy.ts": APP_PROXY },
    expectWritten: ["health.config.ts", "src/app/healthcheck/[subset]/route.ts"],
    expectEdited: ["src/proxy.ts"],
  },
  {
    name: "Next 15, TypeScript, no src/, an existing middleware.ts with its own matcher",
    createNextApp: "create-next-app@15",
    flags: ["--ts", "--no-src-dir", "--import-alias", "@/*"],
    files: { "middleware.ts": APP_PROXY.replace("export function proxy(", "export function middleware(") },
    expectWritten: ["health.config.ts", "app/healthcheck/[subset]/route.ts"],
    expectEdited: ["middleware.ts"],
  },
  {
    name: "Next 16, JavaScript, src/, no proxy",
    createNextApp: "create-next-app@16",
    flags: ["--js", "--src-dir", "--import-alias", "@/*"],
    files: {},
    expectWritten: ["health.config.js", "src/app/healthcheck/[subset]/route.js", "src/proxy.js"],
    expectEdited: [],
  },
  {
    name: "Next 15, JavaScript, no src/, no middleware",
    createNextApp: "create-next-app@15",
    flags: ["--js", "--no-src-dir", "--import-alias", "@/*"],
    files: {},
    expectWritten: ["health.config.js", "app/healthcheck/[subset]/route.js", "middleware.js"],
    expectEdited: [],
  },
];

let workdir: string;
let tarball: string;

before(async () => {
  assertDistBuilt();
  workdir = await freshWorkdir("init-");
  tarball = await packTarball(workdir);
}, { timeout: 5 * MINUTE });

for (const variant of VARIANTS) {
  describe(`probekit init: ${variant.name}`, () => {
    let dir = "";
    let initOutput = "";
    let initMs = 0;
    let server: { server: import("node:child_process").ChildProcess; output: () => string; baseUrl: string } | undefined;

    before(async () => {
      const name = `${variant.createNextApp.replace(/\W/g, "-")}-${VARIANTS.indexOf(variant)}`;
      await runCommand(variant.createNextApp, "npx", ["--yes", variant.createNextApp, name, ...variant.flags, "--app", "--no-tailwind", "--no-eslint", "--use-npm", "--yes", "--disable-git", "--skip-install"], {
        cwd: workdir,
        timeoutMs: 5 * MINUTE,
        env: childEnv(),
      });
      dir = join(workdir, name);
      // The template's layout loads next/font/google, which fetches from the internet at build time: a plain one instead.
      const layout = join(dir, variant.flags.includes("--src-dir") ? "src/app" : "app", `layout.${variant.flags.includes("--ts") ? "tsx" : "js"}`);
      await writeFile(layout, `export default function RootLayout({ children }${variant.flags.includes("--ts") ? ": { children: React.ReactNode }" : ""}) {\n  return <html lang="en"><body>{children}</body></html>;\n}\n`);
      for (const [file, content] of Object.entries(variant.files)) await writeFile(join(dir, file), content);
      await runCommand("npm install", "npm", ["install", "--no-audit", "--no-fund", tarball], { cwd: dir, timeoutMs: 10 * MINUTE, env: childEnv() });
      const started = performance.now();
      initOutput = (await runCommand("probekit init", join(dir, "node_modules/.bin/probekit"), ["init"], { cwd: dir, timeoutMs: 2 * MINUTE, env: childEnv() })).all;
      initMs = performance.now() - started;
    }, { timeout: 20 * MINUTE });

    after(async () => {
      if (server) await stopProcessGroup(server.server);
    });

    it("writes the config, the route and the liveness short-circuit, then runs probekit check: no problem", () => {
      for (const file of variant.expectWritten) assert.match(initOutput, new RegExp(`wrote ${file.replace(/[[\]]/g, "\\$&")}`), initOutput);
      for (const file of variant.expectEdited) assert.match(initOutput, new RegExp(`edited ${file}`), initOutput);
      assert.match(initOutput, /probekit: no problems found/, initOutput);
      assert.match(initOutput, /curl -i http:\/\/localhost:3000\/healthcheck\/readiness/);
      console.log(`# e2e: probekit init (${variant.createNextApp}): ${Math.round(initMs)} ms`);
    });

    it("a second init changes nothing; --dry-run says so", async () => {
      const second = await runCommand("probekit init --dry-run", join(dir, "node_modules/.bin/probekit"), ["init", "--dry-run"], { cwd: dir, timeoutMs: 2 * MINUTE, env: childEnv() });
      assert.match(second.all, /probekit init: nothing to change/, second.all);
    });

    it("the edited proxy keeps the app's own code and comments", async () => {
      for (const file of variant.expectEdited) {
        const text = await readFile(join(dir, file), "utf8");
        assert.match(text, /\/\/ The app's own rule: the dashboard needs a session\./);
        assert.match(text, /export default withLiveness\((proxy|middleware)\);/);
        assert.match(text, /matcher: \["\/healthcheck\/liveness", "\/dashboard\/:path\*"\]/);
      }
    });

    it("next build passes; liveness answers from the short-circuit, readiness answers, the app's proxy logic still runs", async () => {
      await runCommand("next build", process.execPath, [nextBin(dir), "build"], { cwd: dir, timeoutMs: 10 * MINUTE, env: childEnv() });
      const port = await freePort();
      const baseUrl = `http://127.0.0.1:${port}`;
      server = { ...(await startServer(process.execPath, [nextBin(dir), "start", "-H", "127.0.0.1", "-p", String(port)], { cwd: dir, env: childEnv(), readyUrl: `${baseUrl}/` })), baseUrl };
      const live = await fetch(`${baseUrl}/healthcheck/liveness`);
      assert.equal(live.status, 200);
      assert.equal(live.headers.get(LIVENESS_HEADER), "short-circuit");
      const readiness = await fetch(`${baseUrl}/healthcheck/readiness?format=json`);
      assert.equal(readiness.status, 200, await readiness.clone().text());
      assert.deepEqual(Object.keys(((await readiness.json()) as { checks: object }).checks), ["memory"]);
      if (variant.expectEdited.length > 0) {
        const dashboard = await fetch(`${baseUrl}/dashboard`, { redirect: "manual" });
        assert.equal(dashboard.status, 307, "the app's own rule still runs");
        assert.equal(new URL(dashboard.headers.get("location") ?? "", baseUrl).pathname, "/login");
      }
    });
  });
}
