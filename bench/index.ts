/**
 * The benchmark suite (issue #7): `npm run bench` builds, runs every section,
 * prints a table per section and writes every figure to
 * bench/results/<timestamp>.json and bench/results/latest.json.
 *
 *  1. node:http: createNodeHandler vs raw node:http, @godaddy/terminus, lightship
 *  2. handleHealthRequest behind a node:http ↔ Fetch conversion vs a constant Response
 *  3. Bun.serve: liveness + handleHealthRequest vs a constant Response
 *  4. Next.js: createHealthRoute vs a plain route; withLiveness in proxy.ts vs a static route
 *  5. coalescing: 1,000 concurrent requests, one 50 ms check
 *  6. parallelism: five 100 ms checks, parallel and sequential
 *  7. edge bundle weight of probekit/middleware and probekit + probekit/next
 *  8. CLI startup against bare node, and probekit init on fresh apps
 *  9. metrics: a scrape from the cache and an uncached render vs prom-client, and what a scrape adds to a run
 * 10. cold start: a health route module (three checks) vs a bare route, unbundled and bundled, fresh processes
 * 11. token compare: rejecting a wrong bearer token, wrong in its first or last character or its length
 *
 * The load generator (autocannon) runs here, every server in a child process;
 * contenders alternate within each round and figures are medians over rounds,
 * ratios the medians of per-round ratios. A missed target is reported, never a failure.
 *
 * Flags (after `npm run bench --`): --quick (or BENCH_QUICK=1: 3 rounds × 2 s,
 * Next only with --next), --no-next, --only=node,fetch,bun,next,coalescing,parallelism,bundle,cli,metrics,cold,token,
 * --rounds=N, --duration=S, --connections=N, --cpu-prof (profiles the servers of
 * sections 1–3 into bench/results/profiles and lists their hottest functions, and
 * sorts the cold start's CPU by what spent it).
 */
import { spawnSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { bundleSection } from "./bundle.ts";
import { measureCliStartup } from "./cli-startup.ts";
import { bunSection, fetchSection, nodeHttpSection } from "./http.ts";
import { formatTable, progress, REPO, VERDICT_COLUMNS, type BenchSettings, type Row, type SectionResult } from "./lib.ts";
import { formatProfile, measureColdStart } from "./cold-start.ts";
import { metricsSection } from "./metrics.ts";
import { nextSection } from "./next.ts";
import { coalescingSection, parallelismSection, tokenSection } from "./runs.ts";

const RESULTS_DIR = join(REPO, "bench/results");
const SECTIONS = ["node", "fetch", "bun", "next", "coalescing", "parallelism", "bundle", "cli", "metrics", "cold", "token"] as const;
type SectionId = (typeof SECTIONS)[number];

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: process.env.BENCH_QUICK === "1" },
    next: { type: "boolean" },
    "no-next": { type: "boolean" },
    only: { type: "string" },
    rounds: { type: "string" },
    duration: { type: "string" },
    connections: { type: "string" },
    "cpu-prof": { type: "boolean", default: false },
  },
});

const quick = flags.quick === true;
const settings: BenchSettings = {
  rounds: Number(flags.rounds ?? (quick ? 3 : 5)),
  durationS: Number(flags.duration ?? (quick ? 2 : 4)),
  warmupS: quick ? 1 : 2,
  connections: Number(flags.connections ?? 10),
  cliRounds: quick ? 15 : 40,
  samples: quick ? 3 : 5,
  quick,
  cpuProf: flags["cpu-prof"] === true,
};

const only = flags.only?.split(",").map((name) => name.trim()) ?? [...SECTIONS];
const unknown = only.filter((name) => !(SECTIONS as readonly string[]).includes(name));
if (unknown.length > 0) throw new Error(`bench: unknown section ${unknown.join(", ")}; sections: ${SECTIONS.join(", ")}`);
const runNext = flags["no-next"] ? false : flags.next === true || !quick || flags.only !== undefined;
const selected = SECTIONS.filter((id) => only.includes(id) && (id !== "next" || runNext));

const runners: Record<SectionId, () => Promise<SectionResult>> = {
  node: () => nodeHttpSection(settings, RESULTS_DIR),
  fetch: () => fetchSection(settings, RESULTS_DIR),
  bun: () => bunSection(settings, RESULTS_DIR),
  next: () => nextSection(settings, RESULTS_DIR),
  coalescing: () => coalescingSection(settings),
  parallelism: () => parallelismSection(settings),
  bundle: () => bundleSection(),
  cli: () => cliSection(settings),
  metrics: () => metricsSection(settings),
  cold: () => coldStartSection(settings),
  token: () => tokenSection(settings),
};

// ---------------------------------------------------------------- 8. CLI startup

async function cliSection(settings: BenchSettings): Promise<SectionResult> {
  const { rounds, firstTsRunMs, rows, init } = await measureCliStartup(settings.cliRounds);
  const targets: Record<string, number | undefined> = { "probekit, .js config": 1.3, "probekit, .ts config": 1.6 };
  const tableRows: Row[] = rows.map((row, index) => {
    const max = targets[row.contender];
    return {
      contender: row.contender,
      ms: row.medianMs,
      ratio: row.ratio,
      target: max !== undefined ? `≤ ${max.toFixed(2)}×` : index === 0 ? null : "report only",
      met: max !== undefined ? row.ratio <= max : null,
    };
  });
  tableRows.push(
    { contender: "first .ts run (compiles the cache)", ms: firstTsRunMs, ratio: null, target: "report only", met: null },
    ...init.map((row) => ({ contender: row.contender, ms: row.medianMs, ratio: null, target: "report only", met: null })),
    { contender: "Python seed: manage.py health_check -s small --skip-checks", ms: 560, ratio: 4.3, target: "reference (node -e 0: 130 ms)", met: null },
  );
  return {
    id: "cli",
    title: `8. CLI startup: probekit -s liveness --skip-checks (${rounds} alternating rounds, medians)`,
    columns: [
      { key: "contender", label: "contender" },
      { key: "ms", label: "median ms", digits: 1 },
      { key: "ratio", label: "× bare node", digits: 2 },
      ...VERDICT_COLUMNS,
    ],
    rows: tableRows,
    notes: [
      "The Python row is the seed's figure from its own machine, for scale: only its ratio compares.",
      "probekit init: each run on a fresh app laid out as create-next-app makes it (probekit linked, no other install); init ends with probekit check, whose first run compiles the config.",
    ],
    details: { rounds, firstTsRunMs, rows, init },
  };
}

// ---------------------------------------------------------------- 10. cold start

/** Profiled runs per route with --cpu-prof (after the timed rounds). */
const COLD_PROFILE_ROUNDS = 20;

async function coldStartSection(settings: BenchSettings): Promise<SectionResult> {
  const rounds = settings.cliRounds;
  const { rows, profile } = await measureColdStart(rounds, settings.cpuProf ? COLD_PROFILE_ROUNDS : 0);
  return {
    id: "cold",
    title: `10. Cold start: a route module with createHealthRoute and three checks vs a bare route, one request in a fresh node (${rounds} alternating rounds, medians)`,
    columns: [
      { key: "contender", label: "contender" },
      { key: "medianMs", label: "median ms", digits: 1 },
      { key: "medianInProcessMs", label: "in-process ms", digits: 1 },
      { key: "medianRssMiB", label: "peak RSS MiB", digits: 1 },
      { key: "addedMs", label: "+ms", digits: 1 },
      { key: "addedInProcessMs", label: "+ms in-process", digits: 1 },
      { key: "addedMiB", label: "+MiB", digits: 1 },
      ...VERDICT_COLUMNS,
    ],
    rows: rows.map((row) => ({
      ...row,
      addedMs: row.addedMs ?? null,
      addedInProcessMs: row.addedInProcessMs ?? null,
      addedMiB: row.addedMiB ?? null,
      target: row.target ?? null,
      met: row.met ?? null,
    })),
    notes: [
      "unbundled: the route imports probekit from node_modules, as Node loads a server-external package; bundled: esbuild bundles it as Next bundles a route (what the drivers' import()s load goes to chunks loaded on first use).",
      "+ms and +MiB: over the bare route of the same kind (the controls: over the unbundled bare route). In-process: from the route's import to the answer's body, without the process's start and exit (steadier). The checks: memory and diskUsage run, postgresHeartbeat is only defined.",
      "Controls, Node's share: 'loader floor' imports the same four entries of a package with probekit's exports map and five files of no code; 'bare + statfs' awaits one statfs as diskUsage does (libuv's pool is already running in an ES-module process, so this is what awaiting one I/O costs). Peak RSS is read at each process's exit.",
      ...(profile.length === 0
        ? []
        : [
            `--cpu-prof: CPU per process (ms, mean of ${COLD_PROFILE_ROUNDS} profiled runs each, sampled every 20 µs): compile is V8 compiling the modules' source as Node loads them; route code is the self time of the route's own functions (probekit's, for the health route), their lazy compile on first call included; node is Node's own JavaScript (the loader, fs, undici).`,
            ...formatProfile(profile),
          ]),
    ],
    details: { rounds, rows, profile },
  };
}

// ---------------------------------------------------------------- run

function bunVersion(): string | null {
  const run = spawnSync(join(REPO, "node_modules/.bin/bun"), ["--version"], { encoding: "utf8" });
  return run.status === 0 ? run.stdout.trim() : null;
}

const startedAt = new Date();
const environment = {
  node: process.version,
  bun: bunVersion(),
  platform: `${process.platform}/${process.arch}`,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? null,
  loadAverageAtStart: loadavg().map((value) => Number(value.toFixed(2))),
};
console.log(
  `probekit benchmarks, ${startedAt.toISOString()}: Node ${environment.node}, Bun ${environment.bun ?? "missing"}, ${environment.cpus} CPUs (${environment.cpuModel}), load ${environment.loadAverageAtStart.join(" ")}`,
);
console.log(`sections: ${selected.join(", ")}${runNext ? "" : " (next skipped: --next to include it)"}\n`);

const results: SectionResult[] = [];
const errors: { section: string; error: string }[] = [];
for (const id of selected) {
  const sectionStarted = Date.now();
  progress(`${id}: starting`);
  try {
    const result = await runners[id]();
    results.push(result);
    console.log(`${formatTable(result)}\n`);
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    errors.push({ section: id, error: message });
    console.log(`${id}: FAILED\n${message}\n`);
  }
  progress(`${id}: ${((Date.now() - sectionStarted) / 1000).toFixed(0)} s`);
}

const verdicts = results.flatMap((result) => result.rows.filter((row) => typeof row.met === "boolean").map((row) => ({ section: result.title, row })));
const missed = verdicts.filter(({ row }) => row.met === false);
console.log(`Targets met: ${verdicts.length - missed.length} of ${verdicts.length}.`);
for (const { section, row } of missed) console.log(`  missed: ${section.replace(/ \(.*$/, "")}: ${String(row.contender)} (target ${String(row.target)})`);
// A verdict that req/s and the server's CPU per request disagree on is a verdict the noise may have decided.
for (const { section, row } of verdicts) {
  if (typeof row.metByCpu === "boolean" && row.metByCpu !== row.met) {
    console.log(`  by CPU per request instead of req/s, ${row.metByCpu ? "met" : "missed"}: ${section.replace(/ \(.*$/, "")}: ${String(row.contender)}`);
  }
}
if (errors.length > 0) console.log(`Sections that failed to run: ${errors.map((item) => item.section).join(", ")}.`);

const report = {
  date: startedAt.toISOString(),
  durationS: Math.round((Date.now() - startedAt.getTime()) / 1000),
  environment: { ...environment, loadAverageAtEnd: loadavg().map((value) => Number(value.toFixed(2))) },
  settings,
  sections: Object.fromEntries(results.map((result) => [result.id, { title: result.title, rows: result.rows, notes: result.notes, details: result.details }])),
  errors,
};
await mkdir(RESULTS_DIR, { recursive: true });
const json = `${JSON.stringify(report, null, 2)}\n`;
const file = join(RESULTS_DIR, `${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
await writeFile(file, json);
await writeFile(join(RESULTS_DIR, "latest.json"), json);
console.log(`\nWrote ${file} and bench/results/latest.json (${report.durationS} s).`);
if (errors.length > 0) process.exitCode = 1;
