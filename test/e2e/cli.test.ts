/**
 * The probekit CLI as exec probes run it: the built bin in child processes, in
 * throwaway projects whose node_modules/probekit links to this repository (as an
 * install would), with TypeScript and JavaScript configs.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { postgresUserIds } from "../helpers/postgres.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(REPO, "dist/cli/index.js");
const roots: string[] = [];

after(() => Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }))));

/** A project with probekit "installed" and the given files. */
async function project(files: Record<string, string>): Promise<string> {
  assert.ok(existsSync(BIN), "dist/cli/index.js is missing: run npm run build (npm test does)");
  const root = await mkdtemp(join(tmpdir(), "probekit-cli-"));
  roots.push(root);
  await mkdir(join(root, "node_modules"));
  await symlink(REPO, join(root, "node_modules", "probekit"));
  for (const [file, content] of Object.entries(files)) {
    await mkdir(join(root, file, ".."), { recursive: true });
    await writeFile(join(root, file), content);
  }
  return root;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI; `as` runs it as another user (root only). */
function cli(cwd: string, args: string[], env: Record<string, string> = {}, as?: { uid: number; gid: number }): Run {
  const started = performance.now();
  const child = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: "utf8",
    timeout: 30_000,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    ...as,
  });
  return { code: child.status, stdout: child.stdout, stderr: child.stderr, ms: performance.now() - started };
}

const TS_CONFIG = `
import { defineCheck, defineHealthConfig, ServiceUnavailable, ServiceWarning } from "probekit";
import { fileHeartbeat } from "probekit/checks/heartbeat";
import { label } from "./lib/label.ts";

const where: string = import.meta.url;

export default defineHealthConfig({
  subsets: {
    liveness: [defineCheck({ name: "loop", check: () => ({ output: label }) })],
    readiness: [
      defineCheck({ name: "db", check: () => ({ output: "connected" }) }),
      defineCheck({ name: "cache", critical: false, check: () => { throw new ServiceUnavailable("cache down"); } }),
    ],
    broken: [
      defineCheck({ name: "db", check: () => { throw new Error("connect ECONNREFUSED 10.0.0.7:5432"); } }),
      defineCheck({ name: "queue", check: () => { throw new ServiceUnavailable("queue down"); } }),
    ],
    warns: [defineCheck({ name: "disk", check: () => { throw new ServiceWarning("disk 95% full"); } })],
    where: [defineCheck({ name: "meta", check: () => ({ output: where }) })],
    ignores: [defineCheck({ name: "stubborn", timeoutMs: 300, check: () => new Promise<void>(() => { setInterval(() => {}, 1000); }) })],
    heartbeat: [fileHeartbeat({ file: process.env.BEAT_FILE ?? "/nonexistent", maxAgeMs: 1500 })],
  },
  warningsAsErrors: true,
});
`;

const tsProject = () => project({ "health.config.ts": TS_CONFIG, "lib/label.ts": `export const label: string = "from lib";\n` });

describe("probekit --subset", () => {
  it("runs a TypeScript config: one line per check, exit 0", async () => {
    const root = await tsProject();
    const run = cli(root, ["--subset", "readiness", "--skip-checks"]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^✓ db\s+pass\s+connected\s+\d+(\.\d)? ms$/);
    assert.match(lines[1]!, /^✗ cache\s+fail\s+unavailable: cache down \(non-critical\)\s+\d+(\.\d)? ms$/);
    assert.equal(run.stderr, "");
  });

  it("exit 1 when the subset fails, with full error detail (the CLI is local)", async () => {
    const run = cli(await tsProject(), ["-s", "broken", "--skip-checks"]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /✗ db\s+fail\s+unavailable: unexpected error: Error: connect ECONNREFUSED 10\.0\.0\.7:5432/);
    assert.match(run.stdout, /✗ queue\s+fail\s+unavailable: queue down/);
  });

  it("a warning fails with warningsAsErrors", async () => {
    const run = cli(await tsProject(), ["-s", "warns", "--skip-checks"]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^! disk\s+warn\s+warning: disk 95% full/);
  });

  it("--format json prints the HTTP JSON body", async () => {
    const run = cli(await tsProject(), ["-s", "broken", "--skip-checks", "--format", "json"]);
    assert.equal(run.code, 1);
    const body = JSON.parse(run.stdout);
    assert.equal(body.status, "fail");
    assert.deepEqual(Object.keys(body.checks), ["db", "queue"]);
    assert.equal(body.checks.queue[0].output, "unavailable: queue down");
    assert.match(body.checks.db[0].output, /ECONNREFUSED/);
  });

  it("no colours when piped or with NO_COLOR, colours on a terminal", async () => {
    const root = await tsProject();
    assert.doesNotMatch(cli(root, ["-s", "readiness", "--skip-checks"]).stdout, /\u001b\[/);
    // A pseudo-terminal through script(1) (util-linux, on every Debian machine).
    const onTerminal = (env: Record<string, string>) =>
      spawnSync("script", ["-qec", `${process.execPath} ${BIN} -s readiness --skip-checks`, "/dev/null"], { cwd: root, encoding: "utf8", env: { PATH: process.env.PATH, ...env } });
    const coloured = onTerminal({});
    assert.equal(coloured.error, undefined, "script(1) is needed for this test");
    assert.match(coloured.stdout, /\u001b\[32m✓ db/);
    assert.doesNotMatch(onTerminal({ NO_COLOR: "1" }).stdout, /\u001b\[/);
  });

  it("keeps import.meta.url and relative imports of the config working", async () => {
    const root = await tsProject();
    for (const env of [{}, { PROBEKIT_CACHE: "0" }] as Record<string, string>[]) {
      const run = cli(root, ["-s", "where", "--skip-checks"], env);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`file://${join(root, "health.config.ts").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`));
      assert.match(cli(root, ["-s", "liveness", "--skip-checks"], env).stdout, /from lib/);
    }
  });

  it("never hangs: a check that ignores its signal and holds a timer open still ends the run", async () => {
    const run = cli(await tsProject(), ["-s", "ignores", "--skip-checks"]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /✗ stubborn\s+fail\s+unavailable: timed out after 300 ms/);
    assert.ok(run.ms < 10_000, `took ${run.ms} ms`);
  });

  it("--timeout bounds the whole run", async () => {
    const root = await project({
      "health.config.mjs": `import { defineHealthConfig } from "probekit";
export default defineHealthConfig({ subsets: { slow: [{ name: "slow", timeoutMs: 60000, check: () => new Promise(() => {}) }] } });`,
    });
    const run = cli(root, ["-s", "slow", "--skip-checks", "--timeout", "400"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /did not finish within 400 ms/);
    assert.ok(run.ms < 10_000);
  });

  it("runs a JavaScript config, and the named export healthConfig", async () => {
    const root = await project({
      "health.config.js": `import { defineHealthConfig } from "probekit";
export const healthConfig = defineHealthConfig({ subsets: { liveness: [{ name: "js", check: () => {} }] } });`,
      "package.json": `{ "type": "module" }`,
    });
    for (const env of [{}, { PROBEKIT_CACHE: "0" }] as Record<string, string>[]) {
      const run = cli(root, ["-s", "liveness", "--skip-checks"], env);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^✓ js\s+pass\s+working/);
    }
  });

  it("finds the config in src/, through HEALTH_CHECK_CONFIG and through --config", async () => {
    const config = `import { defineHealthConfig } from "probekit";\nexport default defineHealthConfig({ subsets: { s: [{ name: "NAME", check: () => {} }] } });\n`;
    const root = await project({
      "src/health.config.mts": config.replace("NAME", "from-src"),
      "ops/probe.mjs": config.replace("NAME", "from-env"),
      "ops/other.mjs": config.replace("NAME", "from-flag"),
    });
    assert.match(cli(root, ["-s", "s", "--skip-checks"]).stdout, /from-src/);
    assert.match(cli(root, ["-s", "s", "--skip-checks"], { HEALTH_CHECK_CONFIG: "ops/probe.mjs" }).stdout, /from-env/);
    assert.match(cli(root, ["-s", "s", "--skip-checks", "--config", "ops/other.mjs"], { HEALTH_CHECK_CONFIG: "ops/probe.mjs" }).stdout, /from-flag/);
  });

  it("reuses the compiled config until one of its files changes", async () => {
    const root = await tsProject();
    assert.match(cli(root, ["-s", "liveness", "--skip-checks"]).stdout, /from lib/);
    const cacheDir = join(root, "node_modules/.cache/probekit");
    assert.equal((await readdir(cacheDir)).filter((file) => file.endsWith(".mjs")).length, 1);
    await writeFile(join(root, "lib/label.ts"), `export const label: string = "changed label";\n`);
    assert.match(cli(root, ["-s", "liveness", "--skip-checks"]).stdout, /changed label/);
  });

  it("falls back to loading the config directly when the cache folder cannot resolve the config's packages", async () => {
    const root = await project({
      "health.config.mjs": `import { defineHealthConfig } from "probekit";\nimport { word } from "local-dep";\nexport default defineHealthConfig({ subsets: { s: [{ name: word, check: () => {} }] } });\n`,
      "node_modules/local-dep/package.json": `{ "name": "local-dep", "type": "module", "exports": "./index.js" }`,
      "node_modules/local-dep/index.js": `export const word = "resolved";\n`,
    });
    const outside = await mkdtemp(join(tmpdir(), "probekit-cache-outside-"));
    roots.push(outside);
    const run = cli(root, ["-s", "s", "--skip-checks"], { PROBEKIT_CACHE_DIR: outside });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /✓ resolved/);
  });

  it("falls back to loading the config directly when the cache cannot be written", async () => {
    const root = await tsProject();
    await writeFile(join(root, "node_modules/.cache"), "a file where the cache folder would go");
    const run = cli(root, ["-s", "liveness", "--skip-checks"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /from lib/);
  });
});

describe("probekit --subset: the run's deadline (without --timeout)", () => {
  // Hangs, ignores its signal and keeps a timer open: only its timeout or the run's deadline ends it.
  const stubborn = `(name, timeoutMs) => ({ name, timeoutMs, check: () => new Promise(() => { setInterval(() => {}, 1000); }) })`;
  // Warmed as at image build time, so the timed runs load the compiled config and start at once.
  const deadlineProject = async (sequential: boolean) => {
    const root = await project({
      "health.config.mjs": `import { defineHealthConfig } from "probekit";
const stubborn = ${stubborn};
export default defineHealthConfig({
  timeoutMs: 2000,
  sequential: ${sequential},
  subsets: {
    thrice: [stubborn("first", 1000), stubborn("second", 1000), stubborn("third", 1000)],
    // A factory's check is only known at run time: the deadline counts it at the config's timeoutMs (2000).
    factory: [stubborn("quick", 1000), () => stubborn("made", 60000)],
  },
});`,
    });
    assert.equal(cli(root, ["check"]).code, 0);
    return root;
  };

  it("parallel: the deadline is the slowest check's timeout + 1 s (a factory's check counted at the config's timeoutMs)", async () => {
    const run = cli(await deadlineProject(false), ["-s", "factory", "--skip-checks"]);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `probekit: subset "factory" did not finish within 3000 ms\n`);
    assert.equal(run.stdout, "");
    // Below 4000 ms: the sum of the timeouts + 1 s is not what ended it.
    assert.ok(run.ms >= 3000 && run.ms < 4000, `took ${Math.round(run.ms)} ms`);
  });

  it("sequential: the deadline is the sum of the timeouts + 1 s, so each check in turn gets its whole timeout", async () => {
    const root = await deadlineProject(true);
    // 3 × 1000 ms one after another: a deadline of the slowest + 1 s (2000 ms) would cut the third.
    const thrice = cli(root, ["-s", "thrice", "--skip-checks"]);
    assert.equal(thrice.code, 1);
    assert.equal(thrice.stderr, "");
    for (const name of ["first", "second", "third"]) assert.match(thrice.stdout, new RegExp(`✗ ${name}\\s+fail\\s+unavailable: timed out after 1000 ms`));
    const factory = cli(root, ["-s", "factory", "--skip-checks"]);
    assert.equal(factory.code, 1);
    assert.equal(factory.stderr, `probekit: subset "factory" did not finish within 4000 ms\n`);
    assert.ok(factory.ms >= 4000 && factory.ms < 5000, `took ${Math.round(factory.ms)} ms`);
  });

  it("a check timeout the runner cannot use (a cached config under --skip-checks skips the schema) counts as the config's timeoutMs", async () => {
    const root = await project({
      "health.config.mjs": `import { defineHealthConfig } from "probekit";
const slow = (name, timeoutMs, ms) => ({ name, timeoutMs, check: () => new Promise((resolve) => setTimeout(resolve, ms)) });
export default defineHealthConfig({
  timeoutMs: 3000,
  subsets: {
    // What Number(process.env.DB_TIMEOUT_MS) gives when the variable is unset.
    unset: [slow("env", Number(process.env.DB_TIMEOUT_MS), 300)],
    zero: [slow("zero", 0, 1500)],
  },
});`,
    });
    for (const subset of ["unset", "zero"]) {
      const run = cli(root, ["-s", subset, "--skip-checks"]);
      assert.equal(run.code, 0, `${subset}: ${run.stderr}`);
      assert.match(run.stdout, /^✓ \w+\s+pass\s+working/);
    }
  });
});

describe("the compiled-config cache", () => {
  // A .ts config (Node 20 runs it only through tsx or the bundle) whose check says which file its code runs from.
  const WHERE_CONFIG = `import { defineHealthConfig } from "probekit";
import { word } from "local-dep";

const runsFrom = (): string => new Error().stack!.split("\\n")[2]!.trim();

export default defineHealthConfig({ subsets: { readiness: [{ name: "where", check: () => ({ output: \`\${word} \${runsFrom()}\` }) }] } });
`;
  const whereProject = () =>
    project({
      "health.config.ts": WHERE_CONFIG,
      "node_modules/local-dep/package.json": `{ "name": "local-dep", "type": "module", "exports": "./index.js" }`,
      "node_modules/local-dep/index.js": `export const word = "from-local-dep";\n`,
    });
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const fromBundleIn = (dir: string) => new RegExp(`^✓ where\\s+pass\\s+from-local-dep at Object\\.check \\(file://${escape(dir)}/[0-9a-f]{16}\\.mjs:`);
  const fromSource = /^✓ where\s+pass\s+from-local-dep at Object\.check \(\S*health\.config\.ts/;

  it("PROBEKIT_CACHE_DIR inside the project: the bundle is written there, later runs import it, and it imports the project's packages from there", async () => {
    const root = await whereProject();
    const volume = join(root, "var/probekit-cache");
    for (let round = 0; round < 2; round++) {
      const run = cli(root, ["-s", "readiness", "--skip-checks"], { PROBEKIT_CACHE_DIR: volume });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, fromBundleIn(volume));
    }
    const files = await readdir(volume);
    assert.equal(files.filter((file) => file.endsWith(".mjs")).length, 1, files.join(", "));
    assert.match(await readFile(join(volume, files.find((file) => file.endsWith(".mjs"))!), "utf8"), /from\s*"local-dep"/, "the package stays an import");
    assert.equal(existsSync(join(root, "node_modules/.cache")), false, "nothing written to the default cache folder");
  });

  it("PROBEKIT_CACHE=0: nothing written, the config loads through tsx, an existing bundle is ignored", async () => {
    const root = await whereProject();
    const off = cli(root, ["-s", "readiness", "--skip-checks"], { PROBEKIT_CACHE: "0" });
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, fromSource);
    assert.equal(existsSync(join(root, "node_modules/.cache")), false);
    assert.match(cli(root, ["-s", "readiness", "--skip-checks"]).stdout, fromBundleIn(join(root, "node_modules/.cache/probekit")));
    assert.match(cli(root, ["-s", "readiness", "--skip-checks"], { PROBEKIT_CACHE: "0" }).stdout, fromSource);
  });

  it("warmed by one probekit check at build time, a read-only project runs from the bundle: no write, no tsx", async () => {
    const root = await whereProject();
    // Root writes through any mode: as root, the probe runs as the unprivileged postgres user (as a container's app user would).
    const user = postgresUserIds();
    const cold = await readOnly(root, () => cli(root, ["-s", "readiness", "--skip-checks"], {}, user));
    assert.equal(cold.code, 0, cold.stderr);
    assert.match(cold.stdout, fromSource, "before warming, a read-only project falls back to tsx");
    assert.equal(existsSync(join(root, "node_modules/.cache")), false);

    const build = cli(root, ["check"]);
    assert.equal(build.code, 0, build.stderr);
    const warm = await readOnly(root, () => cli(root, ["-s", "readiness", "--skip-checks"], {}, user));
    assert.equal(warm.code, 0, warm.stderr);
    assert.match(warm.stdout, fromBundleIn(join(root, "node_modules/.cache/probekit")));
  });
});

describe("probekit: usage and config errors exit 2", () => {
  it("missing --subset, unknown flags, bad values", async () => {
    const root = await tsProject();
    for (const args of [[], ["--frobnicate"], ["-s"], ["-s", "liveness", "--format", "xml"], ["-s", "liveness", "--timeout", "soon"], ["run", "-s", "x"]]) {
      const run = cli(root, args);
      assert.equal(run.code, 2, args.join(" "));
      assert.match(run.stderr, /^probekit: .+\nRun "probekit --help" for usage\.\n$/, args.join(" "));
    }
  });

  it("an unknown subset lists the known ones", async () => {
    const run = cli(await tsProject(), ["-s", "nope", "--skip-checks"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown subset "nope"; known subsets: liveness, readiness, broken, warns, where, ignores, heartbeat/);
  });

  it("no config found", async () => {
    const run = cli(await project({}), ["-s", "liveness"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /no health config found: looked for health\.config\.ts, health\.config\.mts, health\.config\.js, health\.config\.mjs/);
    const missing = cli(await project({}), ["-s", "liveness", "--config", "nope.ts"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /config file not found: .*nope\.ts \(from --config\)/);
  });

  it("a config file that does not compile, throws, or exports the wrong thing", async () => {
    const cases: [string, RegExp][] = [
      ["export default defineHealthConfig({ subsets: { ", /could not load .*health\.config\.ts/],
      [`throw new Error("DATABASE_URL is not set");`, /DATABASE_URL is not set/],
      [`export default { subsets: {} };`, /must export the result of defineHealthConfig/],
      [`import "a-package-that-is-not-installed";`, /a-package-that-is-not-installed/],
    ];
    for (const [source, expected] of cases) {
      const root = await project({ "health.config.ts": source });
      for (const env of [{}, { PROBEKIT_CACHE: "0" }] as Record<string, string>[]) {
        const run = cli(root, ["-s", "liveness", "--skip-checks"], env);
        assert.equal(run.code, 2, `${source} ${JSON.stringify(env)}: ${run.stderr}`);
        assert.match(run.stderr, expected, source);
      }
    }
  });

  it("a structurally broken config prints its diagnostics", async () => {
    const root = await project({
      "health.config.ts": `import { defineHealthConfig } from "probekit";
export default defineHealthConfig({ subsets: { readiness: [{ name: "a", check() {} }, { name: "a", check() {} }], "bad name": [] } });`,
    });
    const run = cli(root, ["-s", "readiness", "--skip-checks"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^E006 subsets\.readiness\[1\]: duplicate check name "a"/m);
    assert.match(run.stderr, /^E007 subsets\.bad name: invalid subset name/m);
  });

  it("--help and --version", async () => {
    const root = await project({});
    const help = cli(root, ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: probekit --subset <name>/);
    const version = cli(root, ["--version"]);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});

describe("probekit check and the diagnostics before a run", () => {
  const proxy = (matcher: string) => `import { withLiveness } from "probekit/middleware";\nexport default withLiveness();\nexport const config = { matcher: ${matcher} };\n`;
  const goodConfig = `import { defineHealthConfig } from "probekit";
export default defineHealthConfig({ subsets: { readiness: [{ name: "db", check: () => {} }] }, timeoutMs: 1000 });`;

  it("exit 0 and 'no problems' for a healthy project", async () => {
    const run = cli(await project({ "health.config.ts": goodConfig, "proxy.ts": proxy(`["/healthcheck/liveness"]`) }), ["check"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "probekit: no problems found\n");
  });

  it("warnings alone exit 0: W001 without a proxy, W002 for a matcher that misses", async () => {
    const w001 = cli(await project({ "health.config.ts": goodConfig }), ["check"]);
    assert.equal(w001.code, 0);
    assert.match(w001.stdout, /^W001 /m);
    const w002 = cli(await project({ "health.config.ts": goodConfig, "src/proxy.ts": proxy(`["/dashboard/:path*"]`) }), ["check"]);
    assert.equal(w002.code, 0);
    assert.match(w002.stdout, /^W002 .*src\/proxy\.ts config\.matcher: none of "\/dashboard\/:path\*" matches \/healthcheck\/liveness/m);
  });

  it("errors exit 1: E005 from a factory, E003 from an option, E006 behind factories", async () => {
    const root = await project({
      "proxy.ts": proxy(`["/healthcheck/liveness"]`),
      "health.config.ts": `import { defineHealthConfig, defineCheck } from "probekit";
export default defineHealthConfig({
  subsets: {
    readiness: [() => { throw new Error("REDIS_URL missing"); }, () => defineCheck({ name: "x", check() {} }), () => defineCheck({ name: "x", check() {} })],
  },
});`,
    });
    const run = cli(root, ["check"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^E005 subsets\.readiness\[0\]: factory threw: Error: REDIS_URL missing$/m);
    assert.match(run.stderr, /^E006 subsets\.readiness\[2\]: duplicate check name "x"/m);
    assert.match(run.stderr, /probekit: 2 errors, 0 warnings/);
    const invalidOption = await project({ "proxy.ts": proxy(`["/healthcheck/liveness"]`), "health.config.ts": goodConfig.replace("timeoutMs: 1000", "timeoutMs: -5") });
    const e003 = cli(invalidOption, ["check"]);
    assert.equal(e003.code, 1);
    assert.match(e003.stderr, /^E003 timeoutMs: must be greater than 0$/m);
  });

  it("a run without --skip-checks stops on errors (exit 2) and prints warnings to stderr", async () => {
    const warnOnly = cli(await project({ "health.config.ts": goodConfig }), ["-s", "readiness"]);
    assert.equal(warnOnly.code, 0);
    assert.match(warnOnly.stderr, /^W001 /m);
    assert.match(warnOnly.stdout, /✓ db/);
    const factoryError = await project({
      "health.config.ts": `import { defineHealthConfig } from "probekit";
export default defineHealthConfig({ subsets: { readiness: [() => { throw new Error("boom"); }] } });`,
    });
    const run = cli(factoryError, ["-s", "readiness"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^E005 /m);
    assert.equal(run.stdout, "");
    const skipped = cli(factoryError, ["-s", "readiness", "--skip-checks"]);
    assert.equal(skipped.code, 1, "with --skip-checks the factory's failure is a failed check");
    assert.equal(skipped.stderr, "");
  });
});

describe("exec probe of a worker's heartbeat", () => {
  it("exit 0 while the worker beats, exit 1 within maxAgeMs after it stops", async () => {
    const root = await tsProject();
    const beatFile = join(root, "worker_heartbeat");
    await writeFile(
      join(root, "worker.ts"),
      `import { startFileHeartbeat } from "probekit/checks/heartbeat";\nstartFileHeartbeat({ file: ${JSON.stringify(beatFile)}, intervalMs: 100 });\nsetInterval(() => {}, 1000);\n`,
    );
    const worker = spawn(process.execPath, ["--import", "tsx", join(root, "worker.ts")], { cwd: REPO, stdio: "ignore" });
    try {
      const deadline = Date.now() + 20_000;
      while (!existsSync(beatFile) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      const alive = cli(root, ["-s", "heartbeat", "--skip-checks"], { BEAT_FILE: beatFile });
      assert.equal(alive.code, 0, alive.stdout + alive.stderr);
    } finally {
      worker.kill("SIGKILL");
    }
    await new Promise((resolve) => worker.once("exit", resolve));
    const stoppedAt = Date.now();
    let dead: Run;
    do {
      await new Promise((resolve) => setTimeout(resolve, 200));
      dead = cli(root, ["-s", "heartbeat", "--skip-checks"], { BEAT_FILE: beatFile });
    } while (dead.code === 0 && Date.now() - stoppedAt < 10_000);
    assert.equal(dead.code, 1);
    assert.match(dead.stdout, /✗ heartbeat\s+fail\s+unavailable: stale \(age=1\.\ds > max_age=1\.5s\)/);
    assert.ok(Date.now() - stoppedAt < 1500 + 1500, `probe failed ${Date.now() - stoppedAt} ms after the worker stopped`);
  });
});

describe("probekit check --k8s", () => {
  const CONFIG = `
import { defineCheck, defineHealthConfig } from "probekit";
export default defineHealthConfig({
  subsets: { readiness: [defineCheck({ name: "db", componentType: "datastore", check: () => {} })] },
});
`;
  const GOOD = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  template:
    spec:
      containers:
        - name: web
          readinessProbe: { httpGet: { path: /healthcheck/readiness, port: 3000 }, timeoutSeconds: 5 }
          livenessProbe: { httpGet: { path: /healthcheck/liveness, port: 3000 } }
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec: { ports: [{ port: 80 }] }
`;
  const BAD = GOOD.replace("timeoutSeconds: 5", "timeoutSeconds: 1").replace("/healthcheck/liveness", "/healthcheck/readiness");

  function cliWithStdin(cwd: string, args: string[], input: string): Run {
    const started = performance.now();
    const child = spawnSync(process.execPath, [BIN, ...args], { cwd, input, encoding: "utf8", timeout: 30_000, env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    return { code: child.status, stdout: child.stdout, stderr: child.stderr, ms: performance.now() - started };
  }

  it("agreeing manifests exit 0; findings exit 1, each naming file, object, container and fix", async () => {
    const root = await project({ "health.config.ts": CONFIG, "k8s/web.yaml": GOOD, "bad/web.yaml": BAD });
    const good = cli(root, ["check", "--k8s", "k8s"]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /the manifests agree with the config/);
    const bad = cli(root, ["check", "--k8s", "bad/web.yaml"]);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /W005 bad\/web\.yaml Deployment\/web container web readinessProbe: timeoutSeconds is 1, .*Set timeoutSeconds: 4/);
    assert.match(bad.stderr, /W004 .*livenessProbe: runs subset "readiness"/);
    assert.match(bad.stderr, /W008 .*livenessProbe: probes the same path as readinessProbe/);
  });

  it("reads - from stdin (helm template … | probekit check --k8s -)", async () => {
    const root = await project({ "health.config.ts": CONFIG });
    assert.equal(cliWithStdin(root, ["check", "--k8s", "-"], GOOD).code, 0);
    const bad = cliWithStdin(root, ["check", "--k8s", "-"], BAD);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /W005 <stdin> Deployment\/web/);
  });

  it("not YAML, a missing file and --k8s without manifests exit 2 with one clear line", async () => {
    const root = await project({ "health.config.ts": CONFIG, "broken.yaml": "kind: Deployment\n  spec: [unclosed\n" });
    const broken = cli(root, ["check", "--k8s", "broken.yaml"]);
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /^probekit: broken\.yaml: not valid YAML: /);
    assert.match(cli(root, ["check", "--k8s", "nope.yaml"]).stderr, /^probekit: nope\.yaml: no such file or folder/);
    const none = cli(root, ["check", "--k8s"]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--k8s needs manifests/);
    assert.equal(cli(root, ["--k8s", "x.yaml", "-s", "readiness"]).code, 2);
  });
});

/** Runs `work` with `root` read-only for everyone (a-w, readable, folders searchable), then gives back the modes. */
async function readOnly<T>(root: string, work: () => T): Promise<T> {
  const modes = new Map<string, { mode: number; folder: boolean }>();
  const walk = async (path: string) => {
    const stat = await lstat(path);
    // node_modules/probekit links to this repository: never follow it.
    if (stat.isSymbolicLink()) return;
    modes.set(path, { mode: stat.mode & 0o7777, folder: stat.isDirectory() });
    if (stat.isDirectory()) for (const entry of await readdir(path)) await walk(join(path, entry));
  };
  await walk(root);
  for (const [path, { mode, folder }] of modes) await chmod(path, (mode & ~0o222) | (folder ? 0o555 : 0o444));
  try {
    return work();
  } finally {
    for (const [path, { mode }] of modes) await chmod(path, mode);
  }
}
