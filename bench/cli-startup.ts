/**
 * CLI startup: what an exec probe pays every few seconds in every worker pod.
 *
 * Runs, alternating in one loop so machine noise hits all alike: bare
 * `node -e ""`, then `probekit -s liveness --skip-checks` on a one-check subset
 * from a .js config and from a .ts config (both from the compiled-config cache,
 * the steady state), and the .ts config through tsx with the cache off (what
 * every run would cost without it). Prints medians and ratios to bare node and
 * writes them to bench/results/cli-startup.json.
 *
 * Targets (issue #3): .js within 1.3x of bare node, .ts within 1.6x.
 * Run: npm run bench (builds first).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(REPO, "dist/cli/index.js");
const ROUNDS = Number(process.env.ROUNDS ?? 40);

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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

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
try {
  // The first run compiles the config; time it once, then warm up everything.
  const firstRun = { ...contenders[2]!, name: "first .ts run (compiles)" };
  await rm(join(tsRoot, "node_modules/.cache"), { recursive: true, force: true });
  const compileMs = time(firstRun);
  for (const contender of contenders) time(contender);
  for (let round = 0; round < ROUNDS; round++) {
    for (const contender of contenders) contender.times.push(time(contender));
  }
  const bare = median(contenders[0]!.times);
  const rows = contenders.map((contender) => ({
    contender: contender.name,
    medianMs: Math.round(median(contender.times) * 10) / 10,
    ratio: Math.round((median(contender.times) / bare) * 100) / 100,
  }));
  console.log(`CLI startup, ${ROUNDS} alternating rounds, Node ${process.version}, ${process.platform}/${process.arch}\n`);
  console.log(`${"contender".padEnd(36)} ${"median".padStart(9)} ${"x bare".padStart(7)}`);
  for (const row of rows) console.log(`${row.contender.padEnd(36)} ${`${row.medianMs} ms`.padStart(9)} ${row.ratio.toFixed(2).padStart(7)}`);
  console.log(`${"first .ts run (compiles the cache)".padEnd(36)} ${`${Math.round(compileMs)} ms`.padStart(9)}`);
  console.log(`\nTargets: .js <= 1.30x, .ts <= 1.60x. For reference, the Python seed's`);
  console.log(`manage.py health_check -s small --skip-checks took 0.56 s where node -e 0 took 0.13 s (4.3x).`);
  await mkdir(join(REPO, "bench/results"), { recursive: true });
  await writeFile(
    join(REPO, "bench/results/cli-startup.json"),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, rounds: ROUNDS, firstTsRunMs: Math.round(compileMs), rows }, null, 2)}\n`,
  );
} finally {
  await Promise.all([jsRoot, tsRoot].map((root) => rm(root, { recursive: true, force: true })));
}
