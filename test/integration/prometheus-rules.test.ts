/**
 * contrib/: the Prometheus alerts and the Grafana dashboard against the families
 * probekit writes. promtool checks the rule file and runs its unit tests; every
 * expression in both files may name only probekit's families (METRIC_NAMES) and,
 * on each, only the labels that family has, so a renamed family or label in
 * src/core/metrics.ts (or a typo in contrib/) fails here. The dashboard's queries
 * also go through promtool: each parses and evaluates without a matching error over
 * two replicas' real expositions, and the status timeline maps to 0 pass / 1 warn / 2 fail.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it, type TestContext } from "node:test";
import { parse, stringify } from "yaml";
import { defineCheck, defineHealthConfig, runHealthChecks, ServiceWarning, toMetricsText } from "../../src/index.ts";
import { METRIC_NAMES } from "../../src/core/metrics.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ALERTS = join(ROOT, "contrib/prometheus/probekit-alerts.yml");
const ALERT_TESTS = join(ROOT, "contrib/prometheus/probekit-alerts.test.yml");
const DASHBOARD = join(ROOT, "contrib/grafana/probekit-dashboard.json");

/** Each family's labels, as src/core/metrics.ts writes them (checked against a real exposition below). */
const FAMILY_LABELS: Readonly<Record<string, readonly string[]>> = {
  probekit_build_info: ["version"],
  probekit_subset_status: ["subset", "status"],
  probekit_subset_duration_seconds: ["subset"],
  probekit_subset_last_run_timestamp_seconds: ["subset"],
  probekit_check_status: ["subset", "check", "critical", "status"],
  probekit_check_duration_seconds: ["subset", "check"],
  probekit_check_timeout_seconds: ["subset", "check"],
  probekit_check_runs_total: ["subset", "check", "status"],
  probekit_shutting_down: [],
};
/** What Prometheus adds to every scraped series; contrib/ stays generic and uses no relabelled ones (pod, namespace). */
const TARGET_LABELS = ["job", "instance"];

const folder = mkdtempSync(join(tmpdir(), "probekit-rules-"));
after(() => rmSync(folder, { recursive: true, force: true }));

// ---------------------------------------------------------------------------
// promtool

const promtoolFound = spawnSync("promtool", ["--version"], { encoding: "utf8" }).error === undefined;

/** Runs promtool; without it, fails under CI (.ci/run installs it) and skips elsewhere. */
function promtool(t: TestContext, args: string[]): { status: number | null; output: string } | undefined {
  if (!promtoolFound) {
    const message = "promtool is not installed (Debian's package prometheus ships it): apt-get install prometheus (.ci/run does)";
    if (process.env.CI === "true") assert.fail(`${message}; CI must not skip this`);
    t.skip(message);
    return undefined;
  }
  const result = spawnSync("promtool", args, { encoding: "utf8", timeout: 60_000 });
  if (result.error) throw new Error(`promtool ${args.join(" ")} could not run: ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** False when promtool is missing outside CI (the test was skipped). */
function assertPromtoolPasses(t: TestContext, args: string[]): boolean {
  const result = promtool(t, args);
  if (result === undefined) return false;
  assert.equal(result.status, 0, `promtool ${args.join(" ")} exited ${result.status}:\n${result.output}`);
  return true;
}

// ---------------------------------------------------------------------------
// What an expression names

/** A metric selector in an expression: the name and the label names of its matchers. */
interface Selector {
  metric: string;
  labels: string[];
}

interface ExpressionNames {
  /** Every identifier starting with probekit_ (outside string literals), and the matchers written on it. */
  selectors: Selector[];
  /** Labels in by/without/on/ignoring/group_left/group_right lists. */
  grouping: string[];
}

/**
 * The probekit metrics, their matchers and the grouping labels of one PromQL
 * expression. Not a parser: string literals are skipped (a label value naming
 * probekit_… is not a metric), identifiers are read whole (`probekit_check2` is one
 * name, not `probekit_check`), and a `{…}` right after a name is its matcher list.
 */
function namesIn(expr: string): ExpressionNames {
  const selectors: Selector[] = [];
  const grouping: string[] = [];
  let i = 0;
  const skipString = (at: number): number => {
    const quote = expr[at]!;
    let j = at + 1;
    while (j < expr.length && expr[j] !== quote) j += expr[j] === "\\" && quote !== "`" ? 2 : 1;
    return j + 1;
  };
  const skipSpace = (at: number): number => {
    while (at < expr.length && /\s/.test(expr[at]!)) at++;
    return at;
  };
  while (i < expr.length) {
    const char = expr[i]!;
    if (char === '"' || char === "'" || char === "`") {
      i = skipString(i);
      continue;
    }
    const identifier = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(expr.slice(i));
    // An identifier starts at a boundary: not inside a number (5m) or a $variable.
    if (identifier === null || (i > 0 && /[A-Za-z0-9_$]/.test(expr[i - 1]!))) {
      i++;
      continue;
    }
    const word = identifier[0];
    i += word.length;
    if (word.startsWith("probekit_")) {
      const labels: string[] = [];
      let j = skipSpace(i);
      if (expr[j] === "{") {
        j++;
        for (;;) {
          j = skipSpace(j);
          if (expr[j] === "}" || j >= expr.length) break;
          const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(expr.slice(j));
          assert.ok(name, `a matcher in ${JSON.stringify(expr)} at ${j} has no label name`);
          labels.push(name[0]);
          j = skipSpace(j + name[0].length);
          j = skipSpace(j + (/^(=~|!~|!=|=)/.exec(expr.slice(j))?.[0].length ?? 0));
          j = skipSpace(skipString(j));
          if (expr[j] === ",") j++;
        }
        i = j + 1;
      }
      selectors.push({ metric: word, labels });
    } else if (/^(by|without|on|ignoring|group_left|group_right)$/.test(word)) {
      const j = skipSpace(i);
      if (expr[j] !== "(") continue;
      const end = expr.indexOf(")", j);
      grouping.push(...expr.slice(j + 1, end).split(",").map((label) => label.trim()).filter(Boolean));
      i = end + 1;
    }
  }
  return { selectors, grouping };
}

/**
 * Problems with one expression: unknown families, labels a family does not have,
 * grouping or template labels (`{{x}}`, `$labels.x`) that none of its families has.
 */
function problemsIn(where: string, expr: string, templateLabels: readonly string[] = []): string[] {
  const problems: string[] = [];
  const { selectors, grouping } = namesIn(expr);
  if (selectors.length === 0) problems.push(`${where}: references no probekit family: ${expr}`);
  const reachable = new Set(TARGET_LABELS);
  for (const { metric, labels } of selectors) {
    const own = FAMILY_LABELS[metric];
    if (!METRIC_NAMES.includes(metric) || own === undefined) {
      problems.push(`${where}: ${metric} is not a probekit family (METRIC_NAMES: ${METRIC_NAMES.join(", ")})`);
      continue;
    }
    for (const label of own) reachable.add(label);
    for (const label of labels) {
      if (!own.includes(label) && !TARGET_LABELS.includes(label)) problems.push(`${where}: ${metric} has no label ${label} (it has ${[...own, ...TARGET_LABELS].join(", ")})`);
    }
  }
  for (const label of new Set([...grouping, ...templateLabels])) {
    if (!reachable.has(label)) problems.push(`${where}: no family in the expression has the label ${label}: ${expr}`);
  }
  return [...new Set(problems)];
}

// ---------------------------------------------------------------------------
// The files

interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function alertRules(): AlertRule[] {
  const file = parse(readFileSync(ALERTS, "utf8")) as { groups: { name: string; rules: AlertRule[] }[] };
  return file.groups.flatMap((group) => group.rules);
}

interface Target {
  expr?: string;
  refId?: string;
  legendFormat?: string;
}
interface Panel {
  id?: number;
  type: string;
  title?: string;
  panels?: Panel[];
  targets?: Target[];
  fieldConfig?: { defaults?: { mappings?: { type: string; options: Record<string, { text?: string }> }[] } };
}
interface Variable {
  type: string;
  name: string;
  query?: string | { query?: string };
  definition?: string;
}
interface Dashboard {
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as Dashboard;

/** Every panel, rows' nested panels (a collapsed row keeps its own) included. */
function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}

/** One expression of the dashboard: where it is, the PromQL, and the labels its legend prints. */
interface DashboardExpr {
  where: string;
  expr: string;
  legendLabels: string[];
  /** A label_values(selector, label) variable: the label it lists. */
  listsLabel?: string;
}

function dashboardExprs(): DashboardExpr[] {
  const exprs: DashboardExpr[] = [];
  for (const panel of allPanels(dashboard.panels)) {
    for (const target of panel.targets ?? []) {
      if (target.expr === undefined) continue;
      const legendLabels = [...(target.legendFormat ?? "").matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map((match) => match[1]!);
      exprs.push({ where: `panel ${panel.id} "${panel.title}" ${target.refId}`, expr: target.expr, legendLabels });
    }
  }
  for (const variable of dashboard.templating.list) {
    if (variable.type === "datasource") continue;
    const queries = [typeof variable.query === "string" ? variable.query : variable.query?.query, variable.definition];
    for (const query of new Set(queries.filter((query): query is string => query !== undefined && query !== ""))) {
      // label_values(selector, label) lists a label of the selector's series; the selector is PromQL.
      const labelValues = /^\s*label_values\(\s*(.+?)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$/s.exec(query);
      if (labelValues === null) exprs.push({ where: `variable $${variable.name}`, expr: query, legendLabels: [] });
      else exprs.push({ where: `variable $${variable.name}`, expr: labelValues[1]!, legendLabels: [], listsLabel: labelValues[2]! });
    }
  }
  return exprs;
}

/** The dashboard's Grafana variables replaced so that promtool can parse and evaluate the PromQL. */
function withoutVariables(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}/g, "4m")
    .replace(/\$__interval|\$\{__interval\}/g, "1m")
    .replace(/\$__range|\$\{__range\}/g, "1h")
    .replace(/\$\{[A-Za-z0-9_]+(:[a-z]+)?\}|\$[A-Za-z0-9_]+|\[\[[A-Za-z0-9_]+\]\]/g, ".+");
}

// ---------------------------------------------------------------------------

describe("the label table of this test", () => {
  it("names every family in METRIC_NAMES, each with the labels a real exposition has", async () => {
    assert.deepEqual(Object.keys(FAMILY_LABELS).sort(), [...METRIC_NAMES].sort(), "FAMILY_LABELS covers METRIC_NAMES exactly");
    const config = exampleConfig();
    const text = toMetricsText(config, await Promise.all(["readiness", "payments"].map((subset) => runHealthChecks(config, subset))), "prometheus");
    const seen = new Map<string, Set<string>>();
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const [, name, labels = ""] = /^([a-z_]+)(?:\{(.*)\})? /.exec(line)!;
      const set = seen.get(name!) ?? new Set<string>();
      for (const match of labels.matchAll(/([a-z_]+)="/g)) set.add(match[1]!);
      seen.set(name!, set);
    }
    const written = Object.fromEntries([...seen].map(([name, labels]) => [name, [...labels].sort()]));
    const table = Object.fromEntries(Object.entries(FAMILY_LABELS).map(([name, labels]) => [name, [...labels].sort()]));
    assert.deepEqual(written, table, "update FAMILY_LABELS (and contrib/) with src/core/metrics.ts");
  });
});

describe("contrib/prometheus/probekit-alerts.yml", () => {
  it("passes promtool check rules", (t) => void assertPromtoolPasses(t, ["check", "rules", ALERTS]));

  it("passes its unit tests (promtool test rules probekit-alerts.test.yml)", (t) => void assertPromtoolPasses(t, ["test", "rules", ALERT_TESTS]));

  it("has the alerts, each with for:, a severity and a summary and description naming what fails", () => {
    const rules = alertRules();
    const names = rules.map((rule) => rule.alert);
    for (const name of ["ProbekitCriticalCheckFailing", "ProbekitSubsetFailing", "ProbekitCheckSlow", "ProbekitCheckFlapping", "ProbekitMetricsStale"]) assert.ok(names.includes(name), `${name} is missing`);
    for (const rule of rules) {
      assert.ok(rule.alert, `only alerts in the file: ${JSON.stringify(rule)}`);
      assert.match(rule.for ?? "", /^\d+[smh]$/, `${rule.alert} has a for:`);
      assert.match(rule.labels?.severity ?? "", /^(critical|warning|info)$/, `${rule.alert} has a severity`);
      for (const key of ["summary", "description"]) {
        const text = rule.annotations?.[key] ?? "";
        assert.match(text, /\{\{ \$labels\.instance \}\}/, `${rule.alert}'s ${key} names the instance`);
        assert.match(text, /\{\{ \$labels\.subset \}\}/, `${rule.alert}'s ${key} names the subset`);
      }
    }
  });

  it("names only probekit's families in its expressions, with their labels (matchers, joins, $labels)", () => {
    const problems = alertRules().flatMap((rule) => {
      const templates = Object.values(rule.annotations ?? {}).join("\n");
      const used = [...templates.matchAll(/\$labels\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1]!);
      return problemsIn(`alert ${rule.alert}`, rule.expr, used);
    });
    assert.deepEqual(problems, []);
  });

  it("every alert has a test that fires it and one where it stays silent", () => {
    const tests = parse(readFileSync(ALERT_TESTS, "utf8")) as { tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[] };
    const cases = tests.tests.flatMap((test) => test.alert_rule_test ?? []);
    for (const rule of alertRules()) {
      const own = cases.filter((one) => one.alertname === rule.alert);
      assert.ok(own.some((one) => (one.exp_alerts ?? []).length > 0), `${rule.alert} has a firing case`);
      assert.ok(own.some((one) => (one.exp_alerts ?? []).length === 0), `${rule.alert} has a silent case`);
    }
  });
});

describe("contrib/grafana/probekit-dashboard.json", () => {
  const exprs = dashboardExprs();

  it("has the datasource, job, instance and subset variables, panels and queries", () => {
    assert.ok(dashboard.schemaVersion >= 36, "a current schemaVersion");
    const variables = Object.fromEntries(dashboard.templating.list.map((variable) => [variable.name, variable]));
    assert.equal(variables.datasource?.type, "datasource");
    assert.equal(variables.datasource?.query, "prometheus");
    for (const name of ["job", "instance", "subset"]) assert.equal(variables[name]?.type, "query", `$${name}`);
    const types = allPanels(dashboard.panels).map((panel) => panel.type);
    for (const type of ["state-timeline", "table", "timeseries"]) assert.ok(types.includes(type), `a ${type} panel`);
    assert.ok(exprs.length >= 8, `the queries were found (${exprs.length})`);
  });

  it("names only probekit's families, with their labels (matchers, grouping, legends, label_values)", () => {
    const problems = exprs.flatMap(({ where, expr, legendLabels, listsLabel }) =>
      problemsIn(where, expr, [...legendLabels, ...(listsLabel === undefined ? [] : [listsLabel])]),
    );
    assert.deepEqual(problems, []);
  });

  it("every query parses and evaluates in Prometheus over two replicas, and the status timeline reads 0 pass / 1 warn / 2 fail", async (t) => {
    const timeline = allPanels(dashboard.panels).find((panel) => panel.type === "state-timeline");
    assert.ok(timeline?.targets?.[0]?.expr, "a status timeline with a query");
    const mapped = Object.fromEntries(Object.entries(timeline.fieldConfig?.defaults?.mappings?.[0]?.options ?? {}).map(([value, { text }]) => [value, text]));
    assert.deepEqual(mapped, { 0: "pass", 1: "warn", 2: "fail" }, "the timeline's value mappings");

    // Each query as a recording rule: promtool fails a test on any evaluation error (a
    // many-to-many match between the replicas, a type error), not only on syntax.
    const rules = join(folder, "dashboard-rules.yml");
    writeFileSync(
      rules,
      stringify({ groups: [{ name: "dashboard", rules: exprs.map(({ expr }, index) => ({ record: `dashboard:query_${index}`, expr: withoutVariables(expr) })) }] }),
    );
    const config = exampleConfig();
    const text = toMetricsText(config, await Promise.all(["readiness", "payments", "liveness"].map((subset) => runHealthChecks(config, subset))), "prometheus");
    const input_series = ["web-1:3000", "web-2:3000"].flatMap((instance) =>
      text
        .split("\n")
        .filter((line) => line !== "" && !line.startsWith("#"))
        .map((line) => {
          const [, name, labels, value] = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line)!;
          return { series: `${name}{${labels ? `${labels},` : ""}job="web",instance="${instance}"}`, values: `${value}x10` };
        }),
    );
    const tests = join(folder, "dashboard-rules.test.yml");
    writeFileSync(
      tests,
      stringify({
        rule_files: [rules],
        evaluation_interval: "1m",
        tests: [
          {
            interval: "1m",
            input_series,
            promql_expr_test: [
              {
                expr: withoutVariables(timeline.targets[0].expr),
                eval_time: "5m",
                exp_samples: [
                  { labels: '{subset="liveness"}', value: 0 },
                  { labels: '{subset="payments"}', value: 2 },
                  { labels: '{subset="readiness"}', value: 1 },
                ],
              },
            ],
          },
        ],
      }),
    );
    if (assertPromtoolPasses(t, ["check", "rules", rules])) assertPromtoolPasses(t, ["test", "rules", tests]);
  });
});

/** readiness warns (a non-critical check fails, a critical one warns), payments fails (a critical check fails), liveness passes. */
function exampleConfig() {
  return defineHealthConfig({
    subsets: {
      readiness: [
        defineCheck({ name: "db", check: () => {} }),
        defineCheck({ name: "mailer", critical: false, check: () => Promise.reject(new Error("smtp down")) }),
        defineCheck({ name: "cache", check: () => Promise.reject(new ServiceWarning("slow")), timeoutMs: 500 }),
      ],
      payments: [defineCheck({ name: "stripe", check: () => Promise.reject(new Error("unreachable")) })],
      liveness: [defineCheck({ name: "self", check: () => {} })],
    },
    // So that the critical cache's warning leaves readiness in warn.
    warningsAsErrors: false,
    logger: false,
    cacheTtlMs: 0,
  });
}
