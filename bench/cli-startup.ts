/**
 * CLI startup: what an exec probe pays every few seconds in every worker pod.
 *
 * Runs, alternating in one loop so machine noise hits all alike: bare
 * `node -e ""`, then `probekit -s liveness --skip-checks` on a one-check subset
 * from a .js config and from a .ts config (both from the compiled-config cache,
 * the steady state), and the .ts config through tsx with the cache off (what
 * every run would cost without it). Medians and ratios to bare node.
 *
 * In the same rounds, `probekit init` on a fresh copy of an app laid out as
 * create-next-app makes it (no install: probekit linked, next read from
 * package.json): Next 16 TypeScript with src/ and its own proxy.ts (edited), and
 * Next 15 JavaScript (three files written), each including the `probekit check`
 * init ends with (a first run: it compiles the config), and `init --dry-run` of the
 * first. Report only, for the README's "about 0.3 s each".
 *
 * Targets (issue #3): .js within 1.3x of bare node, .ts within 1.6x.
 * Part of `npm run bench` (bench/index.ts); run alone with
 * `node --import tsx bench/cli-startup.ts` (after `npm run build`), which prints
 * its table and writes bench/results/cli-startup.json.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { APP_PROXY } from "../test/fixtures/app-proxy.ts";
import { median, REPO } from "./lib.ts";

const BIN = join(REPO, "dist/cli/index.js");

const CONFIG = `import { defineHealthConfig } from "probekit";
export default defineHealthConfig({ subsets: { liveness: [{ name: "loop", check: () => {} }] } });
`;

async function project(file: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "probekit-bench-"));
  await mkdir(join(root, "node_modules"));
  await symlink(REPO, join(root, "node_modules", "probekit"));
  await writeFile(join(root, file), CONFIG);
  await writeFile(join(root, "package.json"), `{ "type": "module" }\n`);
  return root;
}

interface Contender {
  name: string;
  args: string[];
  cwd: string;
  env?: Record<string, string>;
  times: number[];
}

function time(contender: Contender): number {
  const started = process.hrtime.bigint();
  const child = spawnSync(process.execPath, contender.args, { cwd: contender.cwd, env: { ...process.env, ...contender.env }, stdio: "ignore" });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (child.status !== 0) throw new Error(`${contender.name} exited ${child.status}`);
  return ms;
}

export interface CliStartupRow {
  contender: string;
  medianMs: number;
  /** Median ÷ bare node's median. */
  ratio: number;
}

export interface CliStartupResult {
  rounds: number;
  /** The first .ts run, which compiles the config into the cache. */
  firstTsRunMs: number;
  rows: CliStartupRow[];
  /** `probekit init` on fresh apps: medians in ms. */
  init: { contender: string; medianMs: number }[];
}

// ---------------------------------------------------------------- probekit init

const manifest = (next: string) =>
  `${JSON.stringify({ name: "app", version: "0.1.0", private: true, scripts: { dev: "next dev", build: "next build", start: "next start" }, dependencies: { next, react: "19.2.0", "react-dom": "19.2.0" } }, null, 2)}\n`;

/** The files create-next-app writes that init reads or sits beside (no node_modules but probekit). */
const INIT_APPS = {
  "Next 16, TypeScript, src/, its own proxy.ts": {
    "package.json": manifest("16.0.7"),
    "tsconfig.json": `{\n  "compilerOptions": {\n    "strict": true,\n    "jsx": "react-jsx",\n    "moduleResolution": "bundler",\n    "plugins": [{ "name": "next" }],\n    "paths": { "@/*": ["./src/*"] }\n  },\n  "include": ["next-env.d.ts", "**/*.ts", "**/*.tsx"],\n  "exclude": ["node_modules"]\n}\n`,
    "next.config.ts": `import type { NextConfig } from "next";\n\nconst nextConfig: NextConfig = {};\n\nexport default nextConfig;\n`,
    "src/app/layout.tsx": `export default function RootLayout({ children }: { children: React.ReactNode }) {\n  return <html lang="en"><body>{children}</body></html>;\n}\n`,
    "src/app/page.tsx": `export default function Home() {\n  return <main>Hello</main>;\n}\n`,
    "src/proxy.ts": APP_PROXY,
  },
  "Next 15, JavaScript, no src/, no middleware": {
    "package.json": manifest("15.5.7"),
    "jsconfig.json": `{\n  "compilerOptions": {\n    "paths": { "@/*": ["./*"] }\n  }\n}\n`,
    "next.config.mjs": `/** @type {import('next').NextConfig} */\nconst nextConfig = {};\n\nexport default nextConfig;\n`,
    "app/layout.js": `export default function RootLayout({ children }) {\n  return <html lang="en"><body>{children}</body></html>;\n}\n`,
    "app/page.js": `export default function Home() {\n  return <main>Hello</main>;\n}\n`,
  },
} satisfies Record<string, Record<string, string>>;

/** A fresh copy of the app, as npm install leaves it for probekit: written synchronously, between timed runs. */
function initApp(parent: string, files: Record<string, string>): string {
  const root = mkdtempSync(join(parent, "app-"));
  mkdirSync(join(root, "node_modules"));
  symlinkSync(REPO, join(root, "node_modules", "probekit"));
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), content);
  }
  return root;
}

/** Times every contender `rounds` times, alternating; the first row is bare node. */
export async function measureCliStartup(rounds: number): Promise<CliStartupResult> {
  if (!existsSync(BIN)) throw new Error("dist/cli/index.js is missing: npm run build");
  const jsRoot = await project("health.config.js");
  const tsRoot = await project("health.config.ts");
  const probe = ["-s", "liveness", "--skip-checks"];
  const contenders: Contender[] = [
    { name: 'node -e ""', args: ["-e", ""], cwd: jsRoot, times: [] },
    { name: "probekit, .js config", args: [BIN, ...probe], cwd: jsRoot, times: [] },
    { name: "probekit, .ts config", args: [BIN, ...probe], cwd: tsRoot, times: [] },
    { name: "probekit, .ts via tsx (cache off)", args: [BIN, ...probe], cwd: tsRoot, env: { PROBEKIT_CACHE: "0" }, times: [] },
  ];
  const appsRoot = await mkdtemp(join(tmpdir(), "probekit-bench-init-"));
  const [tsApp, jsApp] = Object.keys(INIT_APPS) as (keyof typeof INIT_APPS)[];
  const inits = [
    { name: `probekit init --dry-run: ${tsApp}`, app: tsApp!, args: [BIN, "init", "--dry-run"], times: [] as number[] },
    { name: `probekit init: ${tsApp}`, app: tsApp!, args: [BIN, "init"], times: [] as number[] },
    { name: `probekit init: ${jsApp}`, app: jsApp!, args: [BIN, "init"], times: [] as number[] },
  ];
  // Each run on an app of its own: a second init finds nothing to change.
  const timeInit = (init: (typeof inits)[number]) => time({ ...init, cwd: initApp(appsRoot, INIT_APPS[init.app]) });
  try {
    // The first run compiles the config; time it once, then warm up everything.
    const firstRun = { ...contenders[2]!, name: "first .ts run (compiles)" };
    await rm(join(tsRoot, "node_modules/.cache"), { recursive: true, force: true });
    const compileMs = time(firstRun);
    for (const contender of contenders) time(contender);
    for (const init of inits) timeInit(init);
    for (let round = 0; round < rounds; round++) {
      for (const contender of contenders) contender.times.push(time(contender));
      for (const init of inits) init.times.push(timeInit(init));
    }
    const bare = median(contenders[0]!.times);
    const rows = contenders.map((contender) => ({
      contender: contender.name,
      medianMs: Math.round(median(contender.times) * 10) / 10,
      ratio: Math.round((median(contender.times) / bare) * 100) / 100,
    }));
    const init = inits.map(({ name, times }) => ({ contender: name, medianMs: Math.round(median(times)) }));
    return { rounds, firstTsRunMs: Math.round(compileMs), rows, init };
  } finally {
    await Promise.all([jsRoot, tsRoot, appsRoot].map((root) => rm(root, { recursive: true, force: true })));
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rounds = Number(process.env.ROUNDS ?? 40);
  const { firstTsRunMs, rows, init } = await measureCliStartup(rounds);
  console.log(`CLI startup, ${rounds} alternating rounds, Node ${process.version}, ${process.platform}/${process.arch}\n`);
  console.log(`${"contender".padEnd(36)} ${"median".padStart(9)} ${"x bare".padStart(7)}`);
  for (const row of rows) console.log(`${row.contender.padEnd(36)} ${`${row.medianMs} ms`.padStart(9)} ${row.ratio.toFixed(2).padStart(7)}`);
  console.log(`${"first .ts run (compiles the cache)".padEnd(36)} ${`${firstTsRunMs} ms`.padStart(9)}`);
  for (const row of init) console.log(`${row.contender}: ${row.medianMs} ms`);
  console.log(`\nTargets: .js <= 1.30x, .ts <= 1.60x. For reference, the Python seed's`);
  console.log(`manage.py health_check -s small --skip-checks took 0.56 s where node -e 0 took 0.13 s (4.3x).`);
  await mkdir(join(REPO, "bench/results"), { recursive: true });
  await writeFile(
    join(REPO, "bench/results/cli-startup.json"),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, rounds, firstTsRunMs, rows, init }, null, 2)}\n`,
  );
}
