/**
 * Cold start: what a health route adds to a serverless cold start (issue #12).
 *
 * A route module with `createHealthRoute` and three checks from three entries
 * (`memory`, `diskUsage`, `postgresHeartbeat`), against a bare route answering the
 * same Request with a constant JSON body — each in a fresh `node` process that
 * imports the module, answers one GET /healthcheck/readiness and exits. Two ways:
 *
 * - unbundled: the module imports `probekit` from node_modules, as Node loads a
 *   server-external package (`serverExternalPackages`, or any Node server);
 * - bundled: the same module bundled by esbuild, as Next bundles a route: one file for
 *   the route, and what it imports on demand (the drivers' `import()`s) in chunks loaded
 *   when first run, as webpack's and Turbopack's chunks are.
 *
 * Alternating in one loop; medians of wall time, of the time in the process from the
 * route's import to the answer's body (steadier: no process start or exit in it), and
 * of the process's peak RSS. Targets: unbundled ≤ +10 ms and ≤ +3 MiB over the bare
 * route; bundled ≤ +5 ms.
 *
 * Two controls say what of that is Node's and not probekit's, run in the same loop:
 * - the loader's floor: the bare route plus imports of the same four package entries
 *   of a package with probekit's `exports` map and files of no code, five in all as
 *   probekit's route reads (Node 20 pays per file read and per `exports` target it
 *   resolves; its first two resolutions in a process also compile a regular expression
 *   of its resolver, ~1 ms, which any server that imported a package has paid);
 * - one awaited I/O: the bare route plus one `statfs` (what diskUsage calls), taken as
 *   diskUsage takes it (process.getBuiltinModule). In an ES-module process libuv's thread
 *   pool is already running (the loader started it): this is what awaiting one I/O costs.
 *
 * Peak RSS is read at exit (see RUNNER); read at the answer, the bare route looked
 * 2.4 MiB lighter than any route that awaits I/O, which was Node's compile, not probekit.
 *
 * With profile rounds (`npm run bench -- --cpu-prof`, or `node --import tsx
 * bench/cold-start.ts <rounds> <profile rounds>`), each contender runs that many more times
 * under --cpu-prof, and its CPU is sorted by what spent it (bench/profile.ts cpuBreakdown):
 * V8 compiling the modules' source, the route's own code, the collector, Node's JavaScript.
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { median, REPO } from "./lib.ts";
import { CPU_BREAKDOWN_KEYS, cpuBreakdown, emptyBreakdown, mainThreadProfile, type CpuBreakdown } from "./profile.ts";

const HEALTH_ROUTE = `import { defineHealthConfig } from "probekit";
import { createHealthRoute } from "probekit/next";
import { postgresHeartbeat } from "probekit/checks/postgres";
import { diskUsage, memory } from "probekit/checks/system";

const config = defineHealthConfig({
  subsets: {
    readiness: [memory(), diskUsage({ critical: false })],
    integrations: [postgresHeartbeat({ url: process.env.DATABASE_URL })],
  },
});
export const { GET, HEAD } = createHealthRoute(config);
`;

const BARE_ROUTE = `export async function GET(request) {
  const subset = new URL(request.url).pathname.split("/").pop();
  return Response.json({ status: "pass", checks: { [subset]: [{ status: "pass" }] } }, { headers: { "cache-control": "no-store" } });
}
`;

/** The entries HEALTH_ROUTE imports, as subpaths of the package's `exports`. */
const ROUTE_ENTRIES = [".", "./next", "./checks/postgres", "./checks/system"];

/** The loader's floor: the bare route, and the same entries of a package whose files hold no code. */
const FLOOR_ROUTE = `${ROUTE_ENTRIES.map((entry) => `import ${JSON.stringify(`floor${entry.slice(1)}`)};\n`).join("")}export { GET } from "./bare-route.mjs";
`;
/** The file of dist every entry of the route imports (test/e2e/dist-layout.test.ts holds the five). */
const SHARED_FILE = "dist/chunks/core.js";

/** The bare route that also awaits one statfs, taken from Node as diskUsage takes it. */
const STATFS_ROUTE = `import { GET as bare } from "./bare-route.mjs";
export async function GET(request) {
  await process.getBuiltinModule("node:fs/promises").statfs("/");
  return bare(request);
}
`;

/**
 * Imports the route, answers one request, reports on stdout the time from the import to the answer's body (ms)
 * and, at exit, the process's peak RSS (KiB). At exit, not at the answer: Node 20's undici compiles llhttp's
 * WebAssembly when Request and Response first load, a compile that ends after the answer of a route that awaits
 * nothing (the bare route's) and inside the answer of one that awaits I/O (~2.4 MiB either way).
 */
const RUNNER = (file: string) => `const started = performance.now();
const { GET } = await import(${JSON.stringify(file)});
const response = await GET(new Request("http://localhost/healthcheck/readiness"), { params: Promise.resolve({ subset: "readiness" }) });
if (response.status !== 200) { console.error(response.status, await response.text()); process.exit(1); }
await response.text();
const inProcessMs = performance.now() - started;
process.on("exit", () => process.stdout.write(\`\${process.resourceUsage().maxRSS} \${inProcessMs}\`));
`;

interface Contender {
  name: string;
  script: string;
  cwd: string;
  ms: number[];
  inProcessMs: number[];
  rssKiB: number[];
}

function run(contender: Contender, nodeFlags: string[] = []): void {
  const started = process.hrtime.bigint();
  const child = spawnSync(process.execPath, [...nodeFlags, contender.script], { cwd: contender.cwd, encoding: "utf8", env: { ...process.env, NODE_ENV: "production" } });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (child.status !== 0) throw new Error(`${contender.name} exited ${child.status}: ${child.stderr}`);
  const [rssKiB, inProcessMs] = child.stdout.split(" ").map(Number);
  contender.ms.push(ms);
  contender.inProcessMs.push(inProcessMs!);
  contender.rssKiB.push(rssKiB!);
}

export interface ColdStartRow {
  contender: string;
  medianMs: number;
  /** From the route's import to the answer's body, inside the process. */
  medianInProcessMs: number;
  medianRssMiB: number;
  /** Over the bare route of the same way (unbundled or bundled). */
  addedMs?: number;
  addedInProcessMs?: number;
  addedMiB?: number;
  target?: string;
  met?: boolean;
}

/** Where one contender's process spent its CPU, mean ms per process over the profiled runs (`--cpu-prof`). */
export interface ColdStartProfileRow extends CpuBreakdown {
  contender: string;
}

export interface ColdStart {
  rows: ColdStartRow[];
  /** With `profileRounds`: each contender's CPU by what spent it, then the health routes' and the controls' differences over their bare routes. */
  profile: ColdStartProfileRow[];
}

/** Sampling interval of the profiled runs, µs: a cold start is ~50 ms of CPU, Node's default 1 ms would give 50 samples. */
const PROFILE_INTERVAL_US = 20;

export async function measureColdStart(rounds: number, profileRounds = 0): Promise<ColdStart> {
  const root = await mkdtemp(join(tmpdir(), "probekit-cold-"));
  await mkdir(join(root, "node_modules"));
  await symlink(REPO, join(root, "node_modules", "probekit"));
  await writeFile(join(root, "package.json"), `{ "type": "module" }\n`);
  await writeFile(join(root, "health-route.mjs"), HEALTH_ROUTE);
  await writeFile(join(root, "bare-route.mjs"), BARE_ROUTE);
  await writeFile(join(root, "floor-route.mjs"), FLOOR_ROUTE);
  await writeFile(join(root, "statfs-route.mjs"), STATFS_ROUTE);
  const floor = join(root, "node_modules", "floor");
  const { exports } = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { exports: Record<string, { default: string }> };
  await mkdir(join(floor, dirname(SHARED_FILE)), { recursive: true });
  await writeFile(join(floor, "package.json"), JSON.stringify({ name: "floor", type: "module", exports }));
  await writeFile(join(floor, SHARED_FILE), "export {};\n");
  for (const file of ROUTE_ENTRIES.map((entry) => exports[entry]!.default)) {
    await mkdir(join(floor, dirname(file)), { recursive: true });
    await writeFile(join(floor, file), `import ${JSON.stringify(relative(dirname(file), SHARED_FILE).replace(/^(?!\.)/, "./"))};\n`);
  }
  const { build } = await import("esbuild");
  for (const name of ["health-route", "bare-route"]) {
    // As Next bundles a route for the Node runtime: everything in, Node built-ins out.
    await build({ entryPoints: { [`${name}.bundled`]: join(root, `${name}.mjs`) }, outdir: root, bundle: true, splitting: true, chunkNames: "chunks/[name]-[hash]", outExtension: { ".js": ".mjs" }, platform: "node", format: "esm", minify: true, logLevel: "error" });
  }
  const contenders: Contender[] = [];
  let profile: ColdStartProfileRow[] = [];
  for (const [file, name] of CONTENDERS) {
    const script = join(root, `run-${file}`);
    await writeFile(script, RUNNER(`./${file}`));
    contenders.push({ name, script, cwd: root, ms: [], inProcessMs: [], rssKiB: [] });
  }
  try {
    for (const contender of contenders) run(contender); // warm the disk cache
    for (let round = 0; round < rounds; round++) for (const contender of contenders) run(contender);
    if (profileRounds > 0) profile = await profileContenders(contenders, profileRounds, root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }

  const rows = contenders.map((contender) => ({
    contender: contender.name,
    medianMs: median(contender.ms),
    medianInProcessMs: median(contender.inProcessMs),
    medianRssMiB: median(contender.rssKiB) / 1024,
  }));
  const [bare, health, bareBundled, healthBundled, floorRow, statfsRow] = rows as [ColdStartRow, ColdStartRow, ColdStartRow, ColdStartRow, ColdStartRow, ColdStartRow];
  const added = (row: ColdStartRow, reference: ColdStartRow, maxMs?: number, maxMiB?: number) => {
    row.addedMs = row.medianMs - reference.medianMs;
    row.addedInProcessMs = row.medianInProcessMs - reference.medianInProcessMs;
    row.addedMiB = row.medianRssMiB - reference.medianRssMiB;
    if (maxMs === undefined) return;
    row.target = maxMiB === undefined ? `≤ +${maxMs} ms` : `≤ +${maxMs} ms, ≤ +${maxMiB} MiB`;
    row.met = row.addedMs <= maxMs && (maxMiB === undefined || row.addedMiB <= maxMiB);
  };
  added(health, bare, 10, 3);
  added(healthBundled, bareBundled, 5);
  added(floorRow, bare);
  added(statfsRow, bare);
  return { rows, profile };
}

/**
 * Runs each contender `rounds` more times under --cpu-prof (not timed: the profiler slows
 * the process) and averages where its CPU went; then each health route minus its bare
 * route, and each control minus the bare route.
 */
async function profileContenders(contenders: Contender[], rounds: number, root: string): Promise<ColdStartProfileRow[]> {
  const [dist, routes, runners] = [join(REPO, "dist"), root, join(root, "run-")].map((path) => pathToFileURL(path).href);
  const isOwnCode = (url: string) => url.startsWith(`${dist}/`) || (url.startsWith(`${routes}/`) && !url.startsWith(runners!));
  const sums = contenders.map(emptyBreakdown);
  for (let round = 0; round < rounds; round++) {
    for (const [index, contender] of contenders.entries()) {
      const dir = await mkdtemp(join(root, "profile-"));
      run({ ...contender, ms: [], inProcessMs: [], rssKiB: [] }, ["--cpu-prof", `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${PROFILE_INTERVAL_US}`]);
      const breakdown = await cpuBreakdown((await mainThreadProfile(dir))!, isOwnCode);
      for (const key of CPU_BREAKDOWN_KEYS) sums[index]![key] += breakdown[key] / rounds;
      await rm(dir, { recursive: true, force: true });
    }
  }
  const rows: ColdStartProfileRow[] = contenders.map((contender, index) => ({ contender: contender.name, ...sums[index]! }));
  const difference = (health: ColdStartProfileRow, bare: ColdStartProfileRow, contender: string): ColdStartProfileRow => {
    const row: ColdStartProfileRow = { contender, ...emptyBreakdown() };
    for (const key of CPU_BREAKDOWN_KEYS) row[key] = health[key] - bare[key];
    return row;
  };
  return [
    ...rows,
    difference(rows[1]!, rows[0]!, "health − bare"),
    difference(rows[3]!, rows[2]!, "health − bare (bundled)"),
    difference(rows[4]!, rows[0]!, "loader floor − bare"),
    difference(rows[5]!, rows[0]!, "statfs − bare"),
  ];
}

/** Each contender's route file and name, in the order the rows are read back. */
const CONTENDERS: readonly (readonly [file: string, name: string])[] = [
  ["bare-route.mjs", "bare-route"],
  ["health-route.mjs", "health-route"],
  ["bare-route.bundled.mjs", "bare-route (bundled)"],
  ["health-route.bundled.mjs", "health-route (bundled)"],
  ["floor-route.mjs", "control: loader floor"],
  ["statfs-route.mjs", "control: bare + statfs"],
];

if (import.meta.url === `file://${process.argv[1]}`) {
  const { rows, profile } = await measureColdStart(Number(process.argv[2] ?? 20), Number(process.argv[3] ?? 0));
  for (const row of rows) {
    const verdict = row.target === undefined ? "" : ` (${row.target}: ${row.met ? "met" : "MISSED"})`;
    const signed = (value: number) => `${value < 0 ? "−" : "+"}${Math.abs(value).toFixed(1)}`;
    const extra = row.addedMs === undefined ? "" : `  ${signed(row.addedMs)} ms (in-process ${signed(row.addedInProcessMs!)}), ${signed(row.addedMiB!)} MiB${verdict}`;
    console.log(`${row.contender.padEnd(26)} ${row.medianMs.toFixed(1).padStart(7)} ms ${row.medianInProcessMs.toFixed(1).padStart(6)} ms ${row.medianRssMiB.toFixed(1).padStart(6)} MiB${extra}`);
  }
  if (profile.length > 0) console.log(`\nCPU per process, ms (mean of ${process.argv[3]} profiled runs each):\n${formatProfile(profile).join("\n")}`);
}

/** The profile rows as lines: one column per kind of CPU time. */
export function formatProfile(profile: readonly ColdStartProfileRow[]): string[] {
  const cell = (value: number) => value.toFixed(2).padStart(9);
  return [
    `${"".padEnd(26)}   compile  route code  collector      node     other`,
    ...profile.map((row) => `${row.contender.padEnd(26)} ${cell(row.compileMs)} ${cell(row.ownCodeMs)}  ${cell(row.garbageCollectorMs)} ${cell(row.nodeMs)} ${cell(row.otherMs)}`),
  ];
}
