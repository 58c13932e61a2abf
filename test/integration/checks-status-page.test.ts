/**
 * statusPage against a local server speaking Atlassian Statuspage v2's summary.json (the
 * shape GitHub, Vercel and Stripe publish), in Node and inside Vercel's edge-runtime:
 * each indicator and component status, a missing component, a page that errors, answers
 * garbage or hangs; the page's own text is never echoed.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import { build } from "esbuild";
import { EdgeRuntime } from "edge-runtime";
import { defineHealthConfig, handleHealthRequest, type Check } from "../../src/index.ts";
import { freePort } from "../helpers/net.ts";
import { statusPage } from "../../src/checks/status-page.ts";
import { EDGE_BUILD_OPTIONS } from "../helpers/edge-bundle.ts";
import { runCheckOnce } from "../helpers/checks.ts";

/** A summary as Statuspage serves it (trimmed to the fields that matter, plus some that do not). */
function summary(indicator: string, components: Record<string, string> = {}) {
  return {
    page: { id: "kctbh9vrtdwd", name: "Example", url: "https://www.example-status.test", time_zone: "Etc/UTC", updated_at: "2026-12-01T10:00:00.000Z" },
    status: { indicator, description: "<script>alert(1)</script> This text is the page's own" },
    components: Object.entries(components).map(([name, status], index) => ({
      id: `c${index}`, name, status, created_at: "2020-01-01T00:00:00.000Z", updated_at: "2026-12-01T10:00:00.000Z", position: index + 1,
      description: null, showcase: false, start_date: null, group_id: null, page_id: "kctbh9vrtdwd", group: false, only_show_if_degraded: false,
    })),
    incidents: [],
    scheduled_maintenances: [],
  };
}

let server: Server;
let base: string;
let page: { status: number; body: string | undefined; hang?: boolean } = { status: 200, body: undefined };

before(async () => {
  server = createServer((request, response) => {
    if (page.hang) return; // never answers
    response.writeHead(page.status, { "content-type": "application/json" });
    response.end(page.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v2/summary.json`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

function serve(body: unknown, status = 200): void {
  page = { status, body: typeof body === "string" ? body : JSON.stringify(body) };
}

const run = (check: Check, timeoutMs = 2000) => runCheckOnce(check, timeoutMs);

describe("statusPage in Node", () => {
  it("the overall indicator: none passes, minor and maintenance warn, major and critical fail — in its own words", async () => {
    for (const [indicator, status, output] of [
      ["none", "pass", "all systems operational"],
      ["minor", "warn", "warning: minor outage"],
      ["maintenance", "warn", "warning: under maintenance"],
      ["major", "fail", "unavailable: major outage"],
      ["critical", "fail", "unavailable: critical outage"],
    ]) {
      serve(summary(indicator!));
      const result = await run(statusPage({ url: base }));
      assert.equal(result.status, status, indicator);
      assert.equal(result.output, output);
      assert.doesNotMatch(result.output + result.detail, /script|page's own/);
    }
  });

  it("is not critical by default (someone else's outage must not pull your pods), unless asked", async () => {
    serve(summary("major"));
    const check = statusPage({ url: base });
    assert.equal(check.critical, false);
    assert.equal(check.name, `status-page:${new URL(base).host}`);
    const config = defineHealthConfig({ subsets: { readiness: [check] }, cacheTtlMs: 0, logger: false });
    const response = await handleHealthRequest(new Request("http://app.test/healthcheck/readiness?format=json"), config);
    assert.equal(response.status, 200, "a non-critical failure does not fail the probe");
    assert.equal((await response.json()).checks[check.name][0].status, "fail");
    assert.equal(statusPage({ url: base, critical: true }).critical, true);
  });

  it("named components: the worst of them decides, each named with its state", async () => {
    serve(summary("minor", { API: "operational", Actions: "degraded_performance", Pages: "partial_outage", Git: "major_outage", Docs: "under_maintenance" }));
    assert.equal((await run(statusPage({ url: base, components: ["API"] }))).output, "API: operational");
    assert.equal((await run(statusPage({ url: base, components: ["API", "Actions"] }))).output, "warning: Actions: degraded performance");
    assert.equal((await run(statusPage({ url: base, components: ["Docs"] }))).output, "warning: Docs: under maintenance");
    assert.equal((await run(statusPage({ url: base, components: ["Actions", "Pages", "Git"] }))).output, "unavailable: Actions: degraded performance; Pages: partial outage; Git: major outage");
    assert.equal((await run(statusPage({ url: base, components: ["Nope"] }))).output, "unavailable: Nope: not on the page");
  });

  it("a page that errors, answers garbage or another shape, or hangs", async () => {
    serve("oops", 503);
    assert.equal((await run(statusPage({ url: base }))).output, "unavailable: the status page answered 503");
    serve("<html>not json</html>");
    assert.equal((await run(statusPage({ url: base }))).output, "unexpected result: not a Statuspage summary (no JSON)");
    serve({ status: { indicator: "purple" } });
    assert.equal((await run(statusPage({ url: base }))).output, "unexpected result: not a Statuspage summary (no known status.indicator)");
    serve({ status: { indicator: "none" } });
    assert.equal((await run(statusPage({ url: base, components: ["API"] }))).output, "unexpected result: not a Statuspage summary (no components)");
    serve("null");
    assert.equal((await run(statusPage({ url: base }))).output, "unexpected result: not a Statuspage summary");
    page = { status: 200, body: undefined, hang: true };
    const started = performance.now();
    assert.equal((await run(statusPage({ url: base }), 400)).output, "unavailable: timed out after 400 ms");
    assert.ok(performance.now() - started < 800);
    page = { status: 200, body: undefined };
  });

  it("refused, an unset URL, and bad components", async () => {
    assert.equal((await run(statusPage({ url: `http://127.0.0.1:${await freePort()}/api/v2/summary.json` }))).output, "unavailable: connection refused");
    assert.equal((await run(statusPage({ url: process.env.PROBEKIT_UNSET_STATUS_URL as string }))).output, "unavailable: no valid status page URL configured");
    assert.throws(() => statusPage({ url: base, components: [] }), /components must be a non-empty list/);
  });
});

describe("statusPage inside Vercel's edge-runtime", () => {
  it("reads the same page and judges it the same way", async () => {
    const bundled = await build({ ...EDGE_BUILD_OPTIONS, entryPoints: [new URL("../fixtures/edge-status-page.ts", import.meta.url).pathname], format: "iife", minify: true });
    const edge = new EdgeRuntime({ initialCode: bundled.outputFiles[0]!.text });
    const ask = async (components: string[] = []) => {
      const query = new URLSearchParams({ url: base });
      for (const name of components) query.append("component", name);
      return (await (await edge.dispatchFetch(`http://edge.test/?${query}`)).json()) as { status: string; output: string };
    };
    serve(summary("none", { API: "operational", Actions: "partial_outage" }));
    const healthy = await ask();
    assert.equal(healthy.status, "pass");
    assert.equal(healthy.output, "all systems operational");
    const actions = await ask(["Actions"]);
    assert.equal(actions.status, "fail");
    assert.equal(actions.output, "unavailable: Actions: partial outage");
    serve(summary("minor"));
    assert.equal((await ask()).output, "warning: minor outage");
  });
});
