/**
 * handleHealthRequest with the liveness helper in front, served by Bun.serve and
 * Deno.serve (the npm packages `bun` and `deno`), asserted like the Node server.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { freePort } from "../helpers/net.ts";
import { NO_STORE, REPO_ROOT as REPO } from "../helpers/next-app.ts";

const SCRIPT = fileURLToPath(new URL("../fixtures/serve.mjs", import.meta.url));
const REFRESH_SCRIPT = fileURLToPath(new URL("../fixtures/refresh-exit.mjs", import.meta.url));
const SCRAPE_ACCEPT = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

for (const [runtime, args] of [["bun", ["run"]], ["deno", ["run", "-A"]]] as const) {
  describe(`${runtime}: handleHealthRequest behind liveness`, () => {
    let child: ChildProcess;
    let base: string;

    before(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      child = spawn(`${REPO}/node_modules/.bin/${runtime}`, [...args, SCRIPT], { cwd: REPO, env: { ...process.env, PORT: String(port), NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout!.on("data", (chunk: Buffer) => (output += chunk));
      child.stderr!.on("data", (chunk: Buffer) => (output += chunk));
      const deadline = Date.now() + 30_000;
      while (!output.includes("listening")) {
        if (child.exitCode !== null) throw new Error(`${runtime} exited (${child.exitCode}):\n${output}`);
        if (Date.now() > deadline) throw new Error(`${runtime} did not start:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
    after(() => {
      child?.kill("SIGKILL");
    });

    it("liveness: GET and HEAD with the short-circuit header", async () => {
      const response = await fetch(`${base}/healthcheck/liveness`);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), '{"status":"ok"}');
      assert.equal(response.headers.get("x-probekit-liveness"), "short-circuit");
      const head = await fetch(`${base}/healthcheck/liveness/`, { method: "HEAD" });
      assert.equal(head.status, 200);
    });

    it("subsets: 200/500 with safe output, JSON and HTML, HEAD, 404, no-store", async () => {
      const ok = await fetch(`${base}/healthcheck/readiness`, { headers: { accept: "application/health+json" } });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get("content-type"), "application/health+json");
      assert.equal(ok.headers.get("cache-control"), NO_STORE);
      assert.equal((await ok.json()).checks.database[0].output, "connected");

      const failing = await fetch(`${base}/healthcheck/failing?format=json`);
      assert.equal(failing.status, 500);
      const body = await failing.text();
      assert.match(body, /unavailable: queue down/);
      assert.match(body, /unavailable: unexpected error/);
      assert.ok(!body.includes("hunter2") && !body.includes("10.0.0.1"), body);

      const html = await fetch(`${base}/healthcheck/readiness`, { headers: { accept: "text/html" } });
      assert.match(await html.text(), /<!doctype html>/);
      const head = await fetch(`${base}/healthcheck/failing`, { method: "HEAD" });
      assert.equal(head.status, 500);
      assert.equal(await head.text(), "");
      for (const name of ["nope", "__proto__", "constructor"]) assert.equal((await fetch(`${base}/healthcheck/${name}`)).status, 404, name);
    });

    it("metrics: handleMetricsRequest and a subset route answer Prometheus's scrape with OpenMetrics, 200 while failing", async () => {
      const scrape = await fetch(`${base}/metrics`, { headers: { accept: SCRAPE_ACCEPT } });
      assert.equal(scrape.status, 200);
      assert.equal(scrape.headers.get("content-type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
      const text = await scrape.text();
      assert.ok(text.endsWith("# EOF\n"));
      assert.match(text, /^probekit_subset_status\{subset="failing",status="fail"\} 1$/m);
      assert.match(text, /^probekit_subset_status\{subset="readiness",status="pass"\} 1$/m);
      assert.ok(!text.includes("hunter2") && !text.includes("queue down"), text);
      const subset = await fetch(`${base}/healthcheck/failing?format=prometheus`);
      assert.equal(subset.status, 200);
      assert.equal(subset.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    });

    it("a background refresh does not keep the process alive: it exits as soon as its work is done", () => {
      const started = performance.now();
      const run = spawnSync(`${REPO}/node_modules/.bin/${runtime}`, [...args, REFRESH_SCRIPT], { cwd: REPO, env: { ...process.env, NO_COLOR: "1" }, encoding: "utf8", timeout: 20_000 });
      assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
      assert.match(run.stdout, /^pass refreshed several times$/m);
      assert.ok(performance.now() - started < 15_000);
    });
  });
}
