/**
 * Throughput of a readiness probe (three no-op checks, `Accept: application/json`)
 * with autocannon in this process and each server in a child process of its own:
 *
 * 1. node:http: createNodeHandler vs raw node:http sending the same bytes (the
 *    ceiling), @godaddy/terminus and lightship.
 * 2. handleHealthRequest behind a node:http ↔ Fetch conversion vs a constant
 *    Response behind the same conversion (default cacheTtlMs, and 0).
 * 3. Bun.serve: liveness + handleHealthRequest vs a constant Response.
 */
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "../test/helpers/net.ts";
import { JSON_HEADERS, READINESS_PATH } from "./dist.ts";
import {
  alternate,
  median,
  pairedRatio,
  probe,
  REPO,
  round,
  startChildServer,
  VERDICT_COLUMNS,
  type BenchSettings,
  type ChildServer,
  type HttpContender,
  type LoadSample,
  type Probe,
  type Row,
  type SectionResult,
} from "./lib.ts";
import { hottestFunctions, mainThreadProfile } from "./profile.ts";
import type { NodeContender } from "./servers/node-server.ts";

const NODE_SERVER = join(REPO, "bench/servers/node-server.ts");
const BUN_SERVER = join(REPO, "bench/servers/bun-server.ts");
const BUN = join(REPO, "node_modules/.bin/bun");
/**
 * One request in flight per connection, autocannon (one Node process) tops out
 * near Bun.serve's constant Response and the two tie; ten per connection lets
 * the servers be the bottleneck.
 */
const BUN_PIPELINING = 10;

export const THROUGHPUT_COLUMNS = [
  { key: "contender", label: "contender" },
  { key: "body", label: "body B" },
  { key: "reqPerSec", label: "req/s" },
  { key: "p99", label: "p99 ms" },
  { key: "serverCpu", label: "server CPU %" },
  { key: "usPerRequest", label: "µs/req", digits: 1 },
  { key: "ratio", label: "ratio", digits: 3 },
  { key: "cpuRatio", label: "ratio by CPU", digits: 3 },
];

/** The notes every throughput table shares. */
export const THROUGHPUT_NOTES = [
  "req/s, p99 (whole ms, as autocannon records them), server CPU (100% = one core) and the server's CPU time per",
  "request are medians over the rounds. ratio: req/s ÷ the reference's; ratio by CPU: the reference's µs/req ÷",
  "this one's (the cost per request, whoever was the bottleneck); both the medians of per-round ratios.",
];

interface Measured {
  bodyBytes: number;
  samples: LoadSample[];
}

/** Probes each contender once, then loads them alternately. */
async function measure(section: string, contenders: HttpContender[], settings: BenchSettings): Promise<Map<string, Measured>> {
  const probes = new Map<string, Probe>();
  for (const contender of contenders) probes.set(contender.name, await probe(contender));
  const samples = await alternate(section, contenders, settings);
  return new Map(contenders.map((contender) => [contender.name, { bodyBytes: probes.get(contender.name)!.bodyBytes, samples: samples.get(contender.name)! }]));
}

function reqPerSec(measured: { samples: LoadSample[] }): number[] {
  return measured.samples.map((sample) => sample.reqPerSec);
}

export function throughputRow(
  label: string,
  measured: { samples: LoadSample[]; bodyBytes: number },
  reference: { samples: LoadSample[] },
  target: { min: number; text: string } | undefined,
): Row {
  const ratio = pairedRatio(reqPerSec(measured), reqPerSec(reference));
  const cpuRatio = pairedRatio(serverCost(reference), serverCost(measured));
  const cpu = median(measured.samples.map((sample) => sample.serverCpu ?? Number.NaN));
  return {
    contender: label,
    body: measured.bodyBytes,
    reqPerSec: Math.round(median(reqPerSec(measured))),
    p99: wholeMs(median(measured.samples.map((sample) => sample.p99))),
    serverCpu: Number.isNaN(cpu) ? null : Math.round(cpu * 100),
    usPerRequest: round(median(serverCost(measured)), 2),
    ratio: round(ratio, 3),
    cpuRatio: round(cpuRatio, 3),
    target: target?.text ?? null,
    met: target === undefined ? null : ratio >= target.min,
    // The same verdict on the cost per request, which machine noise moves far less than req/s.
    metByCpu: target === undefined || Number.isNaN(cpuRatio) ? null : cpuRatio >= target.min,
  };
}

/** The server's CPU time per request, round by round (NaN where it could not be read). */
function serverCost(measured: { samples: LoadSample[] }): number[] {
  return measured.samples.map((sample) => sample.serverUsPerRequest ?? Number.NaN);
}

/** autocannon counts whole milliseconds: 0 means under one. */
function wholeMs(ms: number): number | string {
  return ms === 0 ? "< 1" : ms;
}

function perRound(measured: Map<string, Measured>): Record<string, LoadSample[]> {
  return Object.fromEntries([...measured].map(([name, { samples }]) => [name, samples]));
}

async function withServers<T>(servers: Promise<ChildServer>[], use: (started: ChildServer[]) => Promise<T>): Promise<T> {
  const settled = await Promise.allSettled(servers);
  const started = settled.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  try {
    const failed = settled.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    return await use(started);
  } finally {
    await Promise.all(started.map((server) => server.stop()));
  }
}

function startNodeServer(contender: NodeContender, profile: string[], env: NodeJS.ProcessEnv = {}): Promise<ChildServer> {
  return startChildServer(contender, process.execPath, [...profile, "--import", "tsx", NODE_SERVER, contender], { cwd: REPO, env });
}

/** With --cpu-prof: a profiler flag for the server, writing into a fresh folder of the contender's own. */
async function profileArgs(settings: BenchSettings, resultsDir: string, name: string): Promise<string[]> {
  if (!settings.cpuProf) return [];
  const dir = join(resultsDir, "profiles", name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return ["--cpu-prof", `--cpu-prof-dir=${dir}`];
}

/** With --cpu-prof: the hottest functions of each contender named, for the table's notes. */
async function profileNotes(settings: BenchSettings, resultsDir: string, names: string[]): Promise<string[]> {
  if (!settings.cpuProf) return [];
  const notes: string[] = [];
  for (const name of names) {
    // tsx's loader thread writes a profile beside the main thread's; the largest is the main thread.
    const file = await mainThreadProfile(join(resultsDir, "profiles", name));
    if (file) notes.push("", `hottest functions (self time) in ${name}, ${file}:`, ...(await hottestFunctions(file, 15)).map((line) => `  ${line}`));
  }
  return notes;
}

// ---------------------------------------------------------------- 1. node:http

export async function nodeHttpSection(settings: BenchSettings, resultsDir: string): Promise<SectionResult> {
  const lightshipPort = await freePort();
  const names: NodeContender[] = ["raw", "probekit-node", "terminus", "lightship"];
  const profiles = await Promise.all(names.map((name) => profileArgs(settings, resultsDir, name)));
  const measured = await withServers(
    names.map((name, index) => startNodeServer(name, profiles[index]!, name === "lightship" ? { PORT: String(lightshipPort) } : {})),
    (servers) => {
      const contenders = servers.map((server, index): HttpContender => {
        const name = names[index]!;
        // Lightship's readiness endpoint is its own /ready, on its own server.
        const path = name === "lightship" ? "/ready" : READINESS_PATH;
        return { name, url: `http://127.0.0.1:${server.port}${path}`, headers: JSON_HEADERS, serverGroup: server.child.pid };
      });
      return measure("node:http", contenders, settings);
    },
  );
  const raw = measured.get("raw")!;
  const probekit = measured.get("probekit-node")!;
  const peerRow = (label: string, name: string): Row => {
    const peer = measured.get(name)!;
    const ahead = pairedRatio(reqPerSec(probekit), reqPerSec(peer));
    const aheadByCpu = pairedRatio(serverCost(peer), serverCost(probekit));
    return {
      ...throughputRow(label, peer, raw, undefined),
      probekitRatio: round(ahead, 2),
      probekitCpuRatio: round(aheadByCpu, 3),
      target: "probekit ahead",
      met: ahead > 1,
      metByCpu: Number.isNaN(aheadByCpu) ? null : aheadByCpu > 1,
    };
  };
  const notes = [
    ...THROUGHPUT_NOTES,
    "The reference is the ceiling; probekit ÷: probekit's req/s ÷ this contender's (by CPU in the JSON).",
    "ceiling: node:http writing probekit's own status, headers and body with no work. probekit serves a run",
    "cached for cacheTtlMs (default 1000 ms); terminus runs the three checks on every request; lightship",
    "answers a ready flag (signalReady()) from its own Fastify server, with no checks to run.",
  ];
  notes.push(...(await profileNotes(settings, resultsDir, ["probekit-node", "raw"])));
  return {
    id: "node-http",
    title: `1. node:http, readiness with three no-op checks (${describeLoad(settings)})`,
    columns: [...THROUGHPUT_COLUMNS, { key: "probekitRatio", label: "probekit ÷", digits: 2 }, ...VERDICT_COLUMNS],
    rows: [
      throughputRow("raw node:http, constant (ceiling)", raw, raw, undefined),
      throughputRow("probekit createNodeHandler", probekit, raw, { min: 0.95, text: "≥ 0.95× ceiling" }),
      peerRow("@godaddy/terminus (3 checks)", "terminus"),
      peerRow("lightship /ready", "lightship"),
    ],
    notes,
    details: perRound(measured),
  };
}

// ---------------------------------------------------------------- 2. Fetch on node:http

export async function fetchSection(settings: BenchSettings, resultsDir: string): Promise<SectionResult> {
  const names: NodeContender[] = ["fetch-constant", "fetch-probekit", "fetch-probekit-ttl0"];
  const profiles = await Promise.all(names.map((name) => profileArgs(settings, resultsDir, name)));
  const measured = await withServers(
    names.map((name, index) => startNodeServer(name, profiles[index]!)),
    (servers) =>
      measure(
        "fetch",
        servers.map((server, index) => ({ name: names[index]!, url: `http://127.0.0.1:${server.port}${READINESS_PATH}`, headers: JSON_HEADERS, serverGroup: server.child.pid })),
        settings,
      ),
  );
  const constant = measured.get("fetch-constant")!;
  return {
    id: "fetch-on-node",
    title: `2. handleHealthRequest behind a node:http ↔ Fetch conversion (${describeLoad(settings)})`,
    columns: [...THROUGHPUT_COLUMNS, ...VERDICT_COLUMNS],
    rows: [
      throughputRow("constant Response (reference)", constant, constant, undefined),
      throughputRow("handleHealthRequest", measured.get("fetch-probekit")!, constant, { min: 0.95, text: "≥ 0.95×" }),
      throughputRow("handleHealthRequest, cacheTtlMs: 0", measured.get("fetch-probekit-ttl0")!, constant, { min: 0.9, text: "≥ 0.90×" }),
    ],
    notes: [
      ...THROUGHPUT_NOTES,
      "Both sides build a Request from the IncomingMessage and write the Response back.",
      "cacheTtlMs: 0 runs the three checks for every request that does not join a run already in flight.",
      ...(await profileNotes(settings, resultsDir, names)),
    ],
    details: perRound(measured),
  };
}

// ---------------------------------------------------------------- 3. Bun

export async function bunSection(settings: BenchSettings, resultsDir: string): Promise<SectionResult> {
  if (!existsSync(BUN)) {
    return { id: "bun", title: "3. Bun.serve", columns: [{ key: "contender", label: "contender" }], rows: [], notes: [`skipped: ${BUN} is missing`] };
  }
  const names = ["constant", "probekit", "reads"] as const;
  const profiles = await Promise.all(names.map((name) => profileArgs(settings, resultsDir, `bun-${name}`)));
  const measured = await withServers(
    names.map((name, index) => startChildServer(`bun ${name}`, BUN, [...profiles[index]!, BUN_SERVER, name], { cwd: REPO })),
    (servers) =>
      measure(
        "bun",
        servers.map((server, index) => ({
          name: names[index]!,
          url: `http://127.0.0.1:${server.port}${READINESS_PATH}`,
          headers: JSON_HEADERS,
          serverGroup: server.child.pid,
          pipelining: BUN_PIPELINING,
        })),
        settings,
      ),
  );
  const constant = measured.get("constant")!;
  return {
    id: "bun",
    title: `3. Bun.serve (${describeLoad(settings)}, ${BUN_PIPELINING} pipelined requests per connection)`,
    columns: [...THROUGHPUT_COLUMNS, ...VERDICT_COLUMNS],
    rows: [
      throughputRow("constant Response (reference)", constant, constant, undefined),
      throughputRow("liveness ?? handleHealthRequest", measured.get("probekit")!, constant, { min: 0.95, text: "≥ 0.95×" }),
      throughputRow("control: the constant after reading method, url, Accept, Authorization", measured.get("reads")!, constant, undefined),
    ],
    notes: [
      ...THROUGHPUT_NOTES,
      "control: what any handler that answers by path and Accept pays before its answer, in Bun (request.headers builds",
      "the Headers object on first use). probekit reads the same four, the method and url twice (liveness, then the handler).",
      `Pipelined (${BUN_PIPELINING} per connection): with one request in flight, autocannon, not Bun, is the bottleneck`,
      "and both contenders read alike (p99 then counts a whole pipeline).",
      ...(await profileNotes(settings, resultsDir, names.map((name) => `bun-${name}`))),
    ],
    details: perRound(measured),
  };
}

export function describeLoad(settings: BenchSettings): string {
  return `${settings.rounds} alternating rounds × ${settings.durationS} s, ${settings.connections} connections, medians`;
}
