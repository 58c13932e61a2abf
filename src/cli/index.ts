#!/usr/bin/env node
/**
 * The `probekit` command: runs one subset of the shared health config for
 * Kubernetes exec probes and deploy pipelines, and `probekit check` runs the
 * config diagnostics. Exit 0 healthy, 1 unhealthy, 2 usage or config error.
 *
 * @example
 * probekit --subset liveness --skip-checks
 * probekit check
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { HealthConfig } from "../core/config.js";
import type { HealthConfigIssue } from "../core/errors.js";
import { toHealthJson } from "../core/render.js";
import { runHealthChecks } from "../core/runner.js";
import { checkTimeoutMs, errorText, LATE, MAX_TIMER_MS, withDeadline } from "../core/util.js";
import { CliUsageError, findConfigFile, loadConfig } from "./load-config.js";
import { formatIssues, formatReport, styleFor } from "./output.js";

const USAGE = `Usage: probekit --subset <name> [options]
       probekit check [--config <file>]
       probekit check --k8s <file, folder or -> ... [--config <file>]
       probekit init [--dry-run] [--force]

Runs one subset of the health config: exit 0 when it passes, 1 when it fails,
2 on a usage or config error. "probekit check" runs the config diagnostics;
with --k8s it holds Kubernetes manifests to the config instead (exit 1 on a finding).
"probekit init" adds probekit to the Next.js app in the working directory.

Options:
  -s, --subset <name>     the subset to run
  -c, --config <file>     the config file (default: $HEALTH_CHECK_CONFIG, else
                          health.config.{ts,mts,js,mjs} in the working directory, then src/)
  -f, --format <format>   text (default) or json (the HTTP JSON body, with full detail)
      --skip-checks       skip the config diagnostics before the run (exec probes want this)
      --timeout <ms>      deadline for the whole run (default: the slowest check's timeout + 1000 ms; their sum + 1000 when sequential)
      --k8s               with check: read the manifests given (YAML files, folders, - for stdin)
      --dry-run           with init: print the changes as a diff, write nothing
      --force             with init: replace files that exist
  -h, --help              show this help
  -v, --version           show the version
`;

const EXIT = { pass: 0, fail: 1, usage: 2 } as const;

async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = args;
  if (values.help) return print(process.stdout, USAGE, EXIT.pass);
  if (values.version) return print(process.stdout, `${version()}\n`, EXIT.pass);

  const command = positionals[0];
  if (command === "init") {
    if (positionals.length > 1) return usageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
    return initCommand(cwd, { dryRun: values["dry-run"] === true, force: values.force === true });
  }
  if (values["dry-run"] === true || values.force === true) return usageError("--dry-run and --force go with init");
  const manifests = values.k8s === true && command === "check" ? positionals.slice(1) : undefined;
  if (values.k8s === true && command !== "check") return usageError("--k8s goes with check: probekit check --k8s <file, folder or ->");
  if (manifests !== undefined && manifests.length === 0) return usageError("--k8s needs manifests: files, folders or - (stdin)");
  if ((manifests === undefined && positionals.length > 1) || (command !== undefined && command !== "check")) {
    return usageError(`unexpected argument ${JSON.stringify(positionals.find((word) => word !== "check") ?? positionals[1])}`);
  }
  if (values.format !== undefined && values.format !== "text" && values.format !== "json") {
    return usageError(`--format must be text or json, not ${JSON.stringify(values.format)}`);
  }
  let deadlineMs: number | undefined;
  if (values.timeout !== undefined) {
    deadlineMs = Number(values.timeout);
    if (!Number.isInteger(deadlineMs) || deadlineMs <= 0 || deadlineMs > MAX_TIMER_MS) return usageError(`--timeout must be a positive whole number of milliseconds`);
  }
  if (command === undefined && values.subset === undefined) return usageError("missing --subset <name>");

  try {
    const file = findConfigFile(values.config, cwd, env);
    if (manifests !== undefined) return await k8sCommand(file, manifests, env, cwd);
    if (command === "check") return await checkCommand(file, env, cwd);
    const config = await loadConfig(file, env);
    return await runCommand(config, values.subset!, { format: values.format ?? "text", skipChecks: values["skip-checks"] ?? false, deadlineMs, cwd });
  } catch (error) {
    return configError(error);
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      subset: { type: "string", short: "s" },
      config: { type: "string", short: "c" },
      format: { type: "string", short: "f" },
      "skip-checks": { type: "boolean" },
      timeout: { type: "string" },
      k8s: { type: "boolean" },
      "dry-run": { type: "boolean" },
      force: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
  });
}

interface RunOptions {
  format: string;
  skipChecks: boolean;
  deadlineMs: number | undefined;
  cwd: string;
}

async function runCommand(loaded: HealthConfig, subset: string, options: RunOptions): Promise<number> {
  if (!options.skipChecks) {
    const issues = await allDiagnostics(loaded, options.cwd);
    if (issues.length > 0) process.stderr.write(formatIssues(issues));
    if (issues.some(isError)) return EXIT.usage;
  }
  if (!Object.hasOwn(loaded.subsets, subset)) {
    return usageError(`unknown subset ${JSON.stringify(subset)}; known subsets: ${Object.keys(loaded.subsets).join(", ")}`);
  }
  // The report is printed here, with full detail: the config's logger would say it all twice. Never reuse a cached run.
  const config: HealthConfig = { ...loaded, options: { ...loaded.options, logger: false, cacheTtlMs: 0 } };
  const deadlineMs = options.deadlineMs ?? defaultDeadline(config, subset);
  const report = await withDeadline(runHealthChecks(config, subset), deadlineMs);
  if (report === LATE) {
    return print(process.stderr, `probekit: subset ${JSON.stringify(subset)} did not finish within ${deadlineMs} ms\n`, EXIT.fail);
  }
  const output =
    options.format === "json" ? `${JSON.stringify(toHealthJson(report, { detail: true }), null, 2)}\n` : formatReport(report, styleFor(process.stdout, process.env));
  return print(process.stdout, output, report.status === "fail" ? EXIT.fail : EXIT.pass);
}

/**
 * The longest the runner can take: the slowest check's timeout (all of them one after another when sequential), plus a margin.
 * A factory's check is made only when the run starts: it counts at the config's timeoutMs.
 */
function defaultDeadline(config: HealthConfig, subset: string): number {
  const timeouts = config.subsets[subset]!.map((entry) => checkTimeoutMs(typeof entry === "function" ? undefined : entry.timeoutMs, config.options.timeoutMs));
  const bound = config.options.sequential ? timeouts.reduce((sum, ms) => sum + ms, 0) : Math.max(0, ...timeouts);
  return Math.min(bound + 1000, MAX_TIMER_MS);
}

async function checkCommand(file: string, env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  let config: HealthConfig;
  try {
    config = await loadConfig(file, env);
  } catch (error) {
    const issues = configIssuesOf(error instanceof CliUsageError ? error.cause : error);
    if (issues === undefined) throw error;
    process.stderr.write(formatIssues(issues));
    return print(process.stderr, summary(issues), EXIT.fail);
  }
  const issues = await allDiagnostics(config, cwd);
  const stream = issues.some(isError) ? process.stderr : process.stdout;
  stream.write(formatIssues(issues));
  return print(stream, summary(issues), issues.some(isError) ? EXIT.fail : EXIT.pass);
}

/** Plans the changes, prints or writes them, then runs `probekit check` and says what to try. */
async function initCommand(cwd: string, options: { dryRun: boolean; force: boolean }): Promise<number> {
  const { applyPlan, InitError, planDiff, planInit } = await import("./init.js");
  let plan: Awaited<ReturnType<typeof planInit>>;
  try {
    plan = await planInit(cwd, { force: options.force });
  } catch (error) {
    if (error instanceof InitError) return print(process.stderr, `probekit init: ${error.message}\n`, EXIT.usage);
    throw error;
  }
  const { project } = plan;
  process.stdout.write(`probekit init: Next.js ${project.nextMajor}, ${project.typescript ? "TypeScript" : "JavaScript"}, ${project.appDir}/\n`);
  for (const kept of plan.kept) process.stdout.write(`  kept ${kept.file}: ${kept.why}\n`);
  if (options.dryRun) {
    process.stdout.write(await planDiff(plan));
    if (plan.manual.length > 0) process.stdout.write(`${plan.manual.join("\n")}\n`);
    return print(process.stdout, plan.changes.length === 0 ? "probekit init: nothing to change\n" : `probekit init: --dry-run, nothing written (${plan.changes.length} file${plan.changes.length === 1 ? "" : "s"} would change)\n`, EXIT.pass);
  }
  applyPlan(plan);
  for (const change of plan.changes) process.stdout.write(`  ${change.before === undefined ? "wrote" : "edited"} ${change.file}\n`);
  if (plan.manual.length > 0) process.stdout.write(`${plan.manual.join("\n")}\n`);
  if (plan.changes.length === 0) process.stdout.write("probekit init: nothing to change\n");
  // The same diagnostics a user would run next.
  const { spawnSync } = await import("node:child_process");
  const check = spawnSync(process.execPath, [process.argv[1]!, "check"], { cwd, encoding: "utf8" });
  process.stdout.write(check.stdout);
  process.stderr.write(check.stderr);
  process.stdout.write(
    ["", "Try, with the app running (next dev or next start):", "  curl -i http://localhost:3000/healthcheck/liveness", "  curl -i http://localhost:3000/healthcheck/readiness", "  curl -i http://localhost:3000/healthcheck/integrations?format=json", ""].join("\n"),
  );
  return plan.manual.length > 0 || check.status !== 0 ? EXIT.fail : EXIT.pass;
}

/** W003–W008: the manifests held to the config. A manifest that cannot be read or parsed is a usage error. */
async function k8sCommand(file: string, paths: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  const config = await loadConfig(file, env);
  const { diagnoseManifests, findDrain, ManifestError, readManifests } = await import("./k8s-diagnostics.js");
  let issues: HealthConfigIssue[];
  try {
    issues = diagnoseManifests(readManifests(paths, () => readFileSync(0, "utf8")), config, findDrain(cwd));
  } catch (error) {
    if (error instanceof ManifestError) return print(process.stderr, `probekit: ${error.message}\n`, EXIT.usage);
    throw error;
  }
  const stream = issues.length > 0 ? process.stderr : process.stdout;
  stream.write(formatIssues(issues));
  return print(stream, issues.length === 0 ? "probekit: the manifests agree with the config\n" : summary(issues), issues.length > 0 ? EXIT.fail : EXIT.pass);
}

/** E001–E007 (calling factories) and W001/W002. Loaded only here: the run path stays free of zod and the parsers. */
async function allDiagnostics(config: HealthConfig, cwd: string): Promise<HealthConfigIssue[]> {
  const [{ diagnoseHealthConfig }, { diagnoseProject }] = await Promise.all([import("../core/config.js"), import("./project-diagnostics.js")]);
  return [...diagnoseHealthConfig(config, { callFactories: true }), ...(await diagnoseProject(cwd, config.options.livenessPath))];
}

function isError(issue: HealthConfigIssue): boolean {
  return issue.code.startsWith("E");
}

function summary(issues: readonly HealthConfigIssue[]): string {
  const errors = issues.filter(isError).length;
  const warnings = issues.length - errors;
  if (issues.length === 0) return "probekit: no problems found\n";
  return `probekit: ${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}\n`;
}

/** The issues of a HealthConfigError, also one thrown by the config's own copy of probekit. */
function configIssuesOf(error: unknown): HealthConfigIssue[] | undefined {
  const candidate = error as { name?: unknown; issues?: unknown } | undefined;
  return candidate?.name === "HealthConfigError" && Array.isArray(candidate.issues) ? (candidate.issues as HealthConfigIssue[]) : undefined;
}

function configError(error: unknown): number {
  const issues = configIssuesOf(error instanceof CliUsageError ? error.cause : error);
  if (issues !== undefined) process.stderr.write(formatIssues(issues));
  const message = error instanceof CliUsageError ? error.message : errorText(error);
  return print(process.stderr, `probekit: ${issues === undefined ? message : "invalid health config"}\n`, EXIT.usage);
}

function usageError(message: string): number {
  return print(process.stderr, `probekit: ${message}\nRun "probekit --help" for usage.\n`, EXIT.usage);
}

function print(stream: NodeJS.WriteStream, text: string, code: number): number {
  stream.write(text);
  return code;
}

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return manifest.version;
}

/** Exits once output is flushed: an open handle left by a check (a socket, a pool) must not keep the probe alive. */
function exit(code: number): void {
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}

main(process.argv.slice(2)).then(exit, (error: unknown) => {
  process.stderr.write(`probekit: ${errorText(error)}\n`);
  exit(EXIT.usage);
});
