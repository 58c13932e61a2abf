/**
 * What the benchmark sections share: the run settings, servers in child
 * processes, autocannon runs alternated between contenders, medians and paired
 * ratios, and the tables.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import autocannon from "autocannon";

export { REPO } from "./dist.ts";

// ---------------------------------------------------------------- settings

export interface BenchSettings {
  /** Alternating rounds per HTTP section. */
  rounds: number;
  /** Seconds of load per contender per round. */
  durationS: number;
  /** Seconds of load per contender before the rounds (JIT, connection pools). */
  warmupS: number;
  /** Concurrent keep-alive connections autocannon holds. */
  connections: number;
  /** Rounds of the CLI startup loop. */
  cliRounds: number;
  /** Samples of the in-process runner measurements. */
  samples: number;
  quick: boolean;
  /** Start the servers of sections 1–3 under --cpu-prof and list their hottest functions; profile the cold start's routes. */
  cpuProf: boolean;
}

// ---------------------------------------------------------------- statistics

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** The median of per-round ratios: each pair was measured seconds apart, so shared noise cancels. */
export function pairedRatio(numerator: readonly number[], denominator: readonly number[]): number {
  return median(numerator.map((value, index) => value / denominator[index]!));
}

export function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

// ---------------------------------------------------------------- load

export interface HttpContender {
  name: string;
  url: string;
  headers?: Record<string, string>;
  /** The server's process group, whose CPU time is read around each run. */
  serverGroup?: number;
  /** Requests in flight per connection. @default 1 */
  pipelining?: number;
}

/** One autocannon run against one contender. */
export interface LoadSample {
  reqPerSec: number;
  /** Milliseconds (autocannon records whole milliseconds). */
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** CPU the server used, in cores (1 = one core busy all along); null where /proc is not there to read. */
  serverCpu: number | null;
  /** Server CPU time per request, in microseconds: its cost, whoever was the bottleneck. */
  serverUsPerRequest: number | null;
  /** CPU this process (autocannon) used, in cores. */
  clientCpu: number;
}

export async function load(contender: HttpContender, durationS: number, connections: number): Promise<LoadSample> {
  const serverBefore = contender.serverGroup === undefined ? undefined : groupCpuSeconds(contender.serverGroup);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const result = await autocannon({ url: contender.url, headers: contender.headers ?? {}, connections, duration: durationS, pipelining: contender.pipelining ?? 1 });
  const wallS = (performance.now() - started) / 1000;
  const clientUsage = process.cpuUsage(clientBefore);
  const serverAfter = contender.serverGroup === undefined ? undefined : groupCpuSeconds(contender.serverGroup);
  const serverS = serverBefore === undefined || serverAfter === undefined ? undefined : serverAfter - serverBefore;
  return {
    reqPerSec: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    serverCpu: serverS === undefined ? null : round(serverS / wallS, 3),
    serverUsPerRequest: serverS === undefined || result.requests.total === 0 ? null : round((serverS * 1e6) / result.requests.total, 2),
    clientCpu: round((clientUsage.user + clientUsage.system) / 1e6 / wallS, 3),
  };
}

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout?.trim()) || 100;

/** User + system CPU seconds of every live process in a process group, from /proc; undefined off Linux. */
function groupCpuSeconds(group: number): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return undefined;
  }
  let ticks = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the command name, which may itself hold spaces and parentheses: state ppid pgrp … utime(14) stime(15).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === group) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / TICKS_PER_SECOND;
}

/**
 * Loads every contender in turn, round after round, with the order rotated each
 * round, so machine noise and position hit all of them alike.
 */
export async function alternate(section: string, contenders: readonly HttpContender[], settings: BenchSettings): Promise<Map<string, LoadSample[]>> {
  const samples = new Map(contenders.map((contender) => [contender.name, [] as LoadSample[]]));
  for (const contender of contenders) await load(contender, settings.warmupS, settings.connections);
  for (let roundIndex = 0; roundIndex < settings.rounds; roundIndex++) {
    const parts: string[] = [];
    for (let offset = 0; offset < contenders.length; offset++) {
      const contender = contenders[(roundIndex + offset) % contenders.length]!;
      const sample = await load(contender, settings.durationS, settings.connections);
      if (sample.non2xx > 0 || sample.errors > 0) {
        throw new Error(`${section}: ${contender.name} answered ${sample.non2xx} non-2xx and ${sample.errors} errors (${contender.url})`);
      }
      samples.get(contender.name)!.push(sample);
      const cpu = sample.serverCpu === null ? "" : ` (server ${Math.round(sample.serverCpu * 100)}% CPU)`;
      parts.push(`${contender.name} ${Math.round(sample.reqPerSec)} req/s${cpu}`);
    }
    progress(`${section}: round ${roundIndex + 1}/${settings.rounds}: ${parts.join(", ")}`);
  }
  return samples;
}

export interface Probe {
  status: number;
  contentType: string | null;
  bodyBytes: number;
  headers: Headers;
}

/** One request before the load, to be sure each contender answers what it should. */
export async function probe(contender: HttpContender): Promise<Probe> {
  const response = await fetch(contender.url, { headers: contender.headers ?? {}, redirect: "manual", signal: AbortSignal.timeout(10_000) });
  const body = new Uint8Array(await response.arrayBuffer());
  if (response.status !== 200) throw new Error(`${contender.name}: ${contender.url} answered ${response.status}: ${new TextDecoder().decode(body).slice(0, 300)}`);
  return { status: response.status, contentType: response.headers.get("content-type"), bodyBytes: body.length, headers: response.headers };
}

// ---------------------------------------------------------------- servers

export interface ChildServer {
  port: number;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a server script in its own process group and resolves with the port
 * it prints as `listening <port>`.
 */
export function startChildServer(label: string, command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<ChildServer> {
  const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, NO_COLOR: "1", ...options.env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  const stop = () => stopChild(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail("did not print `listening <port>` in time"), options.timeoutMs ?? 30_000);
    const onData = () => {
      const port = /listening (\d+)/.exec(output)?.[1];
      if (port === undefined) return;
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      child.off("exit", onExit);
      resolve({ port: Number(port), child, output: () => output, stop });
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => fail(`exited (${code ?? signal})`);
    function fail(reason: string) {
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      child.off("exit", onExit);
      void stop().then(() => reject(new Error(`${label} ${reason}\n--- its output ---\n${output.trim().split("\n").slice(-40).join("\n")}`)));
    }
    child.stdout!.on("data", onData);
    child.once("exit", onExit);
    child.once("error", (error) => fail(`could not start (${error.message})`));
  });
}

/** SIGTERM to the group this file started (servers exit on it, writing any --cpu-prof profile), then SIGKILL. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  signalGroup(child.pid, "SIGTERM");
  const timer = setTimeout(() => signalGroup(child.pid!, "SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

// ---------------------------------------------------------------- results and tables

export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;

export interface Column {
  key: string;
  label: string;
  /** Decimal places for numbers. */
  digits?: number;
}

export interface SectionResult {
  id: string;
  title: string;
  columns: Column[];
  rows: Row[];
  notes: string[];
  /** Per-round figures and anything else worth keeping in the JSON. */
  details?: unknown;
}

/** The columns every section ends with. */
export const VERDICT_COLUMNS: Column[] = [
  { key: "target", label: "target" },
  { key: "met", label: "met" },
];

export function formatTable(section: SectionResult): string {
  const header = section.columns.map((column) => column.label);
  const body = section.rows.map((row) => section.columns.map((column) => formatCell(row[column.key] ?? null, column)));
  const widths = header.map((label, index) => Math.max(label.length, ...body.map((cells) => cells[index]!.length)));
  // Numbers line up on the right.
  const numeric = section.columns.map((column) => section.rows.some((row) => typeof row[column.key] === "number"));
  const line = (cells: string[]) => cells.map((cell, index) => (numeric[index] ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!))).join("  ").trimEnd();
  const lines = [`${section.title}`, "", line(header), widths.map((width) => "-".repeat(width)).join("  "), ...body.map(line)];
  if (section.notes.length > 0) lines.push("", ...section.notes.map((note) => `  ${note}`));
  return lines.join("\n");
}

function formatCell(value: Cell, column: Column): string {
  if (value === null) return "—";
  if (typeof value === "boolean") return column.key === "met" ? (value ? "yes" : "NO") : String(value);
  if (typeof value === "number") return Number.isFinite(value) ? value.toFixed(column.digits ?? 0) : "—";
  return value;
}

export function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}
