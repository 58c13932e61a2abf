/**
 * probekit/checks/status-page: is a third party you depend on reporting an outage? Reads
 * an Atlassian Statuspage v2 `summary.json` (Vercel, GitHub, Stripe, … publish one)
 * with `fetch`, so it runs on every runtime, the edge included. Not critical by default:
 * someone else's outage must not pull your pods.
 *
 * @example
 * import { statusPage } from "probekit/checks/status-page";
 * statusPage({ url: "https://www.githubstatus.com/api/v2/summary.json", components: ["Actions"] });
 */
import { builtinCheck, type Check, type CommonCheckOptions } from "../core/check.js";
import { ServiceReturnedUnexpectedResult, ServiceUnavailable, ServiceWarning } from "../core/errors.js";
import { guarded, safeError } from "../internal/safe-errors.js";

export interface StatusPageOptions extends CommonCheckOptions {
  /** The page's `…/api/v2/summary.json` (or `status.json` when no components are named). */
  url: string | URL;
  /**
   * Components to judge by (their names on the page, as written there); default: the
   * page's overall indicator.
   */
  components?: readonly string[];
  /**
   * A failure shows in the report but does not fail the probe.
   * @default false
   */
  critical?: boolean;
  /** @default "status-page:<host>" */
  name?: string;
}

/** The page's overall indicator, in the check's own words (the page's own text is never echoed). */
const INDICATORS: Record<string, { level: "pass" | "warn" | "fail"; words: string }> = {
  none: { level: "pass", words: "all systems operational" },
  minor: { level: "warn", words: "minor outage" },
  maintenance: { level: "warn", words: "under maintenance" },
  major: { level: "fail", words: "major outage" },
  critical: { level: "fail", words: "critical outage" },
};

const COMPONENT_STATES: Record<string, { level: "pass" | "warn" | "fail"; words: string }> = {
  operational: { level: "pass", words: "operational" },
  under_maintenance: { level: "warn", words: "under maintenance" },
  degraded_performance: { level: "warn", words: "degraded performance" },
  partial_outage: { level: "fail", words: "partial outage" },
  major_outage: { level: "fail", words: "major outage" },
};

interface Summary {
  status?: { indicator?: unknown };
  components?: { name?: unknown; status?: unknown }[];
}

/**
 * `none` passes, `minor` (and `maintenance`) warn, `major` and `critical` fail; with
 * `components`, each named one: `operational` passes, `degraded_performance` and
 * `under_maintenance` warn, `partial_outage` and `major_outage` fail.
 *
 * @example
 * statusPage({ url: "https://www.vercel-status.com/api/v2/summary.json", components: ["Edge Functions"] });
 */
export function statusPage(options: StatusPageOptions): Check {
  const components = options.components === undefined ? undefined : [...options.components];
  if (components !== undefined && (components.length === 0 || components.some((name) => typeof name !== "string" || name === ""))) {
    throw new TypeError("probekit/checks/status-page: components must be a non-empty list of names");
  }
  let url: URL | undefined;
  try {
    url = new URL(options.url);
  } catch {
    // `url: process.env.X` unset must not crash the build: it fails when the check runs.
  }
  return builtinCheck(
    { ...options, critical: options.critical ?? false },
    { name: url === undefined ? "status-page" : `status-page:${url.host}`, componentType: "component" },
    async ({ signal }) => {
      if (url === undefined) throw new ServiceUnavailable("no valid status page URL configured");
      const summary = await guarded(signal, () => read(url!, signal), (error) => safeError(error, { fallback: "request failed" }));
      const verdict = components === undefined ? overall(summary) : ofComponents(summary, components);
      if (verdict.level === "fail") throw new ServiceUnavailable(verdict.words);
      if (verdict.level === "warn") throw new ServiceWarning(verdict.words);
      return { output: verdict.words };
    },
  );
}

async function read(url: URL, signal: AbortSignal): Promise<Summary> {
  const response = await fetch(url, { headers: { accept: "application/json" }, signal });
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    throw new ServiceUnavailable(`the status page answered ${response.status}`);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    throw new ServiceReturnedUnexpectedResult("not a Statuspage summary (no JSON)", { cause: error });
  }
  if (typeof body !== "object" || body === null) throw new ServiceReturnedUnexpectedResult("not a Statuspage summary");
  return body as Summary;
}

function overall(summary: Summary): { level: "pass" | "warn" | "fail"; words: string } {
  const indicator = summary.status?.indicator;
  const known = typeof indicator === "string" && Object.hasOwn(INDICATORS, indicator) ? INDICATORS[indicator] : undefined;
  if (known === undefined) throw new ServiceReturnedUnexpectedResult("not a Statuspage summary (no known status.indicator)");
  return known;
}

function ofComponents(summary: Summary, names: string[]): { level: "pass" | "warn" | "fail"; words: string } {
  if (!Array.isArray(summary.components)) throw new ServiceReturnedUnexpectedResult("not a Statuspage summary (no components)");
  const findings = names.map((name) => {
    const component = summary.components!.find((candidate) => candidate?.name === name);
    if (component === undefined) return { name, level: "fail" as const, words: "not on the page" };
    const state = typeof component.status === "string" && Object.hasOwn(COMPONENT_STATES, component.status) ? COMPONENT_STATES[component.status]! : { level: "warn" as const, words: "unknown status" };
    return { name, ...state };
  });
  const worst = findings.some((finding) => finding.level === "fail") ? "fail" : findings.some((finding) => finding.level === "warn") ? "warn" : "pass";
  const shown = worst === "pass" ? findings : findings.filter((finding) => finding.level !== "pass");
  return { level: worst, words: shown.map((finding) => `${finding.name}: ${finding.words}`).join("; ") };
}
