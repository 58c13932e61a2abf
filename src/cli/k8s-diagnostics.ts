/**
 * `probekit check --k8s`: holds Kubernetes manifests to the health config they serve
 * (W003–W008). Most probe outages are configuration: a kubelet that gives up before the
 * checks' timeout, a liveness probe on the database, an exec probe that re-runs the
 * diagnostics, a grace period shorter than the drain. Reads multi-document YAML (the
 * `yaml` package) from files, folders and stdin; Deployments, StatefulSets, DaemonSets,
 * ReplicaSets, Jobs, CronJobs, Pods and Lists of them.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { HealthConfig } from "../core/config.js";
import type { HealthConfigIssue } from "../core/errors.js";
import { checkTimeoutMs } from "../core/util.js";
import { DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_DRAIN_MS } from "../node/defaults.js";

/** The kubelet's defaults when a probe or pod names none. */
const KUBELET_TIMEOUT_S = 1;
const KUBELET_GRACE_S = 30;
/** What a probe needs beyond its checks' timeout: the answer itself, or the CLI's start. */
export const PROBE_ROOM_MS = 1000;
/** Checks of these component types reach another service: not for a liveness probe. */
const DEPENDENCY_TYPES = new Set(["datastore", "component"]);
const PROBES = ["livenessProbe", "readinessProbe", "startupProbe"] as const;

/** A manifest that cannot be read or parsed: the run stops with exit 2, naming it. */
export class ManifestError extends Error {
  override name = "ManifestError";
}

export interface DrainSettings {
  /** Where the drain is installed (for the message), or undefined when the app installs none. */
  file: string | undefined;
  drainMs: number;
  closeTimeoutMs: number;
}

interface Source {
  name: string;
  text: string;
}

/** Reads the manifests: files, folders (their .yaml/.yml files, recursively) and `-` (stdin). */
export function readManifests(paths: readonly string[], readStdin: () => string): Source[] {
  const sources: Source[] = [];
  for (const path of paths) {
    if (path === "-") {
      sources.push({ name: "<stdin>", text: readStdin() });
      continue;
    }
    let stats;
    try {
      stats = statSync(path);
    } catch {
      throw new ManifestError(`${path}: no such file or folder`);
    }
    if (stats.isDirectory()) {
      const files = yamlFiles(path);
      if (files.length === 0) throw new ManifestError(`${path}: no .yaml or .yml files in this folder`);
      for (const file of files) sources.push({ name: file, text: readFileSync(file, "utf8") });
    } else {
      sources.push({ name: path, text: readFileSync(path, "utf8") });
    }
  }
  return sources;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === "node_modules" || entry.name.startsWith(".") ? [] : yamlFiles(path);
      return [".yaml", ".yml"].includes(extname(entry.name)) ? [path] : [];
    });
}

type Doc = Record<string, unknown>;
interface Container {
  name?: unknown;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
}
interface Probe {
  httpGet?: { path?: unknown };
  exec?: { command?: unknown };
  timeoutSeconds?: unknown;
}

/** The findings for every container of every workload in the sources. */
export function diagnoseManifests(sources: readonly Source[], config: HealthConfig, drain: DrainSettings): HealthConfigIssue[] {
  const issues: HealthConfigIssue[] = [];
  const subsets = subsetFacts(config);
  for (const source of sources) {
    const documents = parseAllDocuments(source.text, { prettyErrors: true, uniqueKeys: false });
    for (const document of Array.isArray(documents) ? documents : [documents]) {
      const error = document.errors[0];
      if (error !== undefined) throw new ManifestError(`${source.name}: not valid YAML: ${error.message.split("\n")[0]}`);
      let value: unknown;
      try {
        value = document.toJS({ maxAliasCount: 100 });
      } catch (error) {
        throw new ManifestError(`${source.name}: cannot read the YAML: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
      }
      for (const workload of workloads(value)) {
        const where = `${source.name} ${workload.kind}/${workload.name}`;
        issues.push(...podIssues(where, workload.pod, config, subsets, drain));
      }
    }
  }
  return issues;
}

interface Workload {
  kind: string;
  name: string;
  pod: Doc;
}

/** The pod specs a document holds (through List items, templates and CronJobs' job templates). */
function workloads(document: unknown): Workload[] {
  if (!isObject(document)) return [];
  const kind = typeof document.kind === "string" ? document.kind : "";
  if (kind === "List" || kind.endsWith("List")) return Array.isArray(document.items) ? document.items.flatMap(workloads) : [];
  const name = isObject(document.metadata) && typeof document.metadata.name === "string" ? document.metadata.name : "(unnamed)";
  const spec = isObject(document.spec) ? document.spec : undefined;
  let pod: unknown;
  if (kind === "Pod") pod = spec;
  else if (["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"].includes(kind)) pod = child(spec, "template", "spec");
  else if (kind === "CronJob") pod = child(spec, "jobTemplate", "spec", "template", "spec");
  return isObject(pod) ? [{ kind, name, pod }] : [];
}

interface SubsetFacts {
  /** The longest a run of the subset may take (sequential: the sum). */
  boundMs: number;
  /** Names of the checks that reach another service. */
  dependencies: string[];
}

function subsetFacts(config: HealthConfig): Map<string, SubsetFacts> {
  const facts = new Map<string, SubsetFacts>();
  for (const [subset, entries] of Object.entries(config.subsets)) {
    const checks = entries.map((entry) => {
      if (typeof entry !== "function") return entry;
      try {
        return entry();
      } catch {
        return undefined;
      }
    });
    const timeouts = checks.map((check) => checkTimeoutMs(check?.timeoutMs, config.options.timeoutMs));
    const boundMs = config.options.sequential ? timeouts.reduce((sum, ms) => sum + ms, 0) : Math.max(0, ...timeouts);
    const dependencies = checks.filter((check) => check !== undefined && DEPENDENCY_TYPES.has(String(check.componentType)) && !/^heartbeat(:|$)/.test(check.name)).map((check) => check!.name);
    facts.set(subset, { boundMs, dependencies });
  }
  return facts;
}

function podIssues(where: string, pod: Doc, config: HealthConfig, subsets: Map<string, SubsetFacts>, drain: DrainSettings): HealthConfigIssue[] {
  const issues: HealthConfigIssue[] = [];
  const livenessPath = config.options.livenessPath;
  const mount = livenessPath.slice(0, livenessPath.lastIndexOf("/"));
  const containers = Array.isArray(pod.containers) ? (pod.containers as unknown[]).filter(isObject) : [];
  let probed = false;
  for (const container of containers as Container[]) {
    const at = `${where} container ${typeof container.name === "string" ? container.name : "(unnamed)"}`;
    const targets: Partial<Record<(typeof PROBES)[number], string>> = {};
    for (const kind of PROBES) {
      const probe = container[kind];
      if (!isObject(probe)) continue;
      const target = probeTarget(probe as Probe, livenessPath, mount);
      if (target === undefined) continue;
      probed = true;
      const path = `${at} ${kind}`;
      targets[kind] = target.key;
      if (target.problem !== undefined) {
        issues.push({ code: target.kind === "exec" ? "W006" : "W003", path, message: target.problem });
        continue;
      }
      const subset = target.subset;
      if (subset === undefined) continue; // the liveness short-circuit: no check runs
      const facts = subsets.get(subset);
      if (facts === undefined) {
        const known = [...subsets.keys()].join(", ");
        issues.push({ code: target.kind === "exec" ? "W006" : "W003", path, message: `names subset "${subset}", which the config does not have (it has ${known}): the probe always fails. Use one of ${known}` });
        continue;
      }
      if (kind === "livenessProbe" && facts.dependencies.length > 0) {
        issues.push({
          code: "W004",
          path,
          message: `runs subset "${subset}", whose checks reach other services (${facts.dependencies.slice(0, 3).join(", ")}${facts.dependencies.length > 3 ? ", …" : ""}): when one blips, every pod restarts. Point liveness at ${livenessPath} (the short-circuit) or a subset of heartbeats`,
        });
      }
      const neededMs = (target.deadlineMs ?? facts.boundMs) + PROBE_ROOM_MS;
      const given = (probe as Probe).timeoutSeconds;
      const timeoutS = typeof given === "number" ? given : KUBELET_TIMEOUT_S;
      if (timeoutS * 1000 < neededMs) {
        issues.push({
          code: "W005",
          path,
          message: `timeoutSeconds is ${timeoutS}${typeof given === "number" ? "" : " (the kubelet's default)"}, but subset "${subset}" may take ${formatS(target.deadlineMs ?? facts.boundMs)} s${target.deadlineMs === undefined ? " (its slowest check's timeout)" : " (--timeout)"} plus the answer: the kubelet gives up first and reports no reason. Set timeoutSeconds: ${Math.ceil(neededMs / 1000)}`,
        });
      }
    }
    if (targets.livenessProbe !== undefined && targets.livenessProbe === targets.readinessProbe) {
      issues.push({
        code: "W008",
        path: `${at} livenessProbe`,
        message: `probes the same ${targets.livenessProbe.startsWith("exec:") ? "command" : "path"} as readinessProbe: a dependency outage then restarts pods instead of taking them out of rotation. Use ${livenessPath} for liveness and a subset for readiness`,
      });
    }
  }
  if (probed && drain.file !== undefined) {
    const given = pod.terminationGracePeriodSeconds;
    const graceS = typeof given === "number" ? given : KUBELET_GRACE_S;
    const neededMs = drain.drainMs + drain.closeTimeoutMs;
    if (graceS * 1000 <= neededMs) {
      issues.push({
        code: "W007",
        path: `${where} terminationGracePeriodSeconds`,
        message: `is ${graceS}${typeof given === "number" ? "" : " (the kubelet's default)"}, but the drain (${drain.file}) takes up to ${formatS(drain.drainMs)} s + ${formatS(drain.closeTimeoutMs)} s to close: the kubelet kills the pod mid-drain. Set terminationGracePeriodSeconds: ${Math.floor(neededMs / 1000) + 5}`,
      });
    }
  }
  return issues;
}

interface Target {
  kind: "http" | "exec";
  /** Identifies what is probed, to compare liveness with readiness. */
  key: string;
  /** The subset run; undefined for the liveness short-circuit. */
  subset?: string;
  /** The exec probe's --timeout, which bounds the run instead of the checks. */
  deadlineMs?: number;
  problem?: string;
}

/** What a probe runs, or undefined when it is not probekit's (a TCP probe, a command of the app's own). */
function probeTarget(probe: Probe, livenessPath: string, mount: string): Target | undefined {
  if (isObject(probe.httpGet)) {
    const raw = typeof probe.httpGet.path === "string" ? probe.httpGet.path : "/";
    const path = raw.split("?")[0]!.replace(/(.)\/+$/, "$1");
    const key = `http:${path}`;
    if (path === livenessPath) return { kind: "http", key };
    if (path.startsWith(`${mount}/`) && !path.slice(mount.length + 1).includes("/")) return { kind: "http", key, subset: decodeURIComponent(path.slice(mount.length + 1)) };
    return { kind: "http", key, problem: `httpGet path ${raw} is neither the liveness path (${livenessPath}) nor ${mount}/<subset>: nothing of probekit answers it. Use ${livenessPath} or ${mount}/<subset>` };
  }
  if (isObject(probe.exec) && Array.isArray(probe.exec.command)) {
    const words = probe.exec.command.flatMap((word) => (typeof word === "string" ? (/\s/.test(word) ? word.split(/\s+/) : [word]) : []));
    const start = words.findIndex((word) => /(^|\/)probekit(\.js)?$/.test(word) || word === "probekit/cli" || /probekit\/dist\/cli/.test(word));
    if (start === -1) return undefined;
    const args = words.slice(start + 1);
    const key = `exec:${args.join(" ")}`;
    const value = (...flags: string[]) => {
      for (let index = 0; index < args.length; index++) {
        for (const flag of flags) {
          if (args[index] === flag) return args[index + 1];
          if (args[index]!.startsWith(`${flag}=`)) return args[index]!.slice(flag.length + 1);
        }
      }
      return undefined;
    };
    if (args[0] === "check") return { kind: "exec", key, problem: `runs "probekit check" (the diagnostics), not a subset: use probekit --subset <name> --skip-checks` };
    const subset = value("--subset", "-s");
    if (subset === undefined) return { kind: "exec", key, problem: `runs probekit without --subset: it exits 2 on every probe. Use probekit --subset <name> --skip-checks` };
    if (!args.includes("--skip-checks")) {
      return { kind: "exec", key, subset, problem: `runs probekit without --skip-checks: every probe re-runs the config diagnostics (zod, parsers) before the checks. Add --skip-checks (run "probekit check" once in CI instead)` };
    }
    const timeout = Number(value("--timeout"));
    return { kind: "exec", key, subset, deadlineMs: Number.isInteger(timeout) && timeout > 0 ? timeout : undefined };
  }
  return undefined;
}

/**
 * Whether the app installs the shutdown drain, and with what: `installShutdownDrain(…)`
 * found in its instrumentation or server file, with literal `drainMs` / `closeTimeoutMs`
 * read from the call (others: the defaults).
 */
export function findDrain(projectRoot: string): DrainSettings {
  const names = ["instrumentation", "server", "index", "main"].flatMap((name) => [".ts", ".mts", ".js", ".mjs", ".cjs"].map((extension) => `${name}${extension}`));
  for (const dir of [projectRoot, join(projectRoot, "src")]) {
    for (const name of names) {
      let text: string;
      try {
        text = readFileSync(join(dir, name), "utf8");
      } catch {
        continue;
      }
      const options = drainCallArguments(text);
      if (options === undefined) continue;
      const number = (option: string) => {
        const found = new RegExp(`\\b${option}\\s*:\\s*([0-9][0-9_]*)`).exec(options)?.[1];
        return found === undefined ? undefined : Number(found.replaceAll("_", ""));
      };
      return { file: join(dir, name).slice(projectRoot.length + 1) || name, drainMs: number("drainMs") ?? DEFAULT_DRAIN_MS, closeTimeoutMs: number("closeTimeoutMs") ?? DEFAULT_CLOSE_TIMEOUT_MS };
    }
  }
  return { file: undefined, drainMs: DEFAULT_DRAIN_MS, closeTimeoutMs: DEFAULT_CLOSE_TIMEOUT_MS };
}

/**
 * The text between `installShutdownDrain(` and its closing parenthesis, or undefined
 * when there is no call. Parentheses are counted: an option such as
 * `onDrained: () => pool.end()` comes before `closeTimeoutMs` as often as not.
 */
function drainCallArguments(text: string): string | undefined {
  const call = /installShutdownDrain\s*\(/.exec(text);
  if (call === null) return undefined;
  const start = call.index + call[0].length;
  let depth = 1;
  for (let at = start; at < text.length; at++) {
    if (text[at] === "(") depth++;
    else if (text[at] === ")" && --depth === 0) return text.slice(start, at);
  }
  return undefined;
}

function child(value: unknown, ...keys: string[]): unknown {
  let current = value;
  for (const key of keys) current = isObject(current) ? current[key] : undefined;
  return current;
}

function isObject(value: unknown): value is Doc {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function formatS(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}
