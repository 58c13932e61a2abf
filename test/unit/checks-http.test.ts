import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { runHealthChecks } from "../../src/index.ts";
import { httpEndpoint, type HttpEndpointOptions } from "../../src/checks/http.ts";
import { quietConfig } from "../helpers/checks.ts";

let server: Server;
let base: string;
const seen: IncomingMessage[] = [];

before(async () => {
  server = createServer((request, response) => {
    seen.push(request);
    const url = new URL(request.url!, "http://x");
    if (url.pathname === "/hang") return; // never answers
    const status = Number(url.pathname.slice(1)) || 200;
    response.writeHead(status, status >= 300 && status < 400 ? { location: "/200" } : {});
    response.end("x".repeat(100_000));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

async function probe(options: HttpEndpointOptions, timeoutMs = 2000) {
  const report = await runHealthChecks(quietConfig({ subsets: { s: [httpEndpoint(options)] }, timeoutMs, cacheTtlMs: 0 }), "s");
  return report.checks[0]!;
}

describe("httpEndpoint", () => {
  it("passes on 2xx and 3xx by default, without following redirects", async () => {
    assert.equal((await probe({ url: `${base}/200` })).status, "pass");
    assert.equal((await probe({ url: `${base}/204` })).status, "pass");
    const redirect = await probe({ url: `${base}/302` });
    assert.equal(redirect.status, "pass");
    assert.equal(redirect.output, "302");
  });

  it("fails on an unexpected status, naming the status and what was expected", async () => {
    const result = await probe({ url: `${base}/503` });
    assert.equal(result.status, "fail");
    assert.equal(result.output, "unavailable: status 503, expected 200–399");
    assert.equal((await probe({ url: `${base}/302`, expectStatus: 200 })).output, "unavailable: status 302, expected 200");
    assert.equal((await probe({ url: `${base}/404`, expectStatus: [200, 404] })).status, "pass");
    assert.equal((await probe({ url: `${base}/418`, expectStatus: (status) => status === 418 })).status, "pass");
    assert.equal((await probe({ url: `${base}/500`, expectStatus: { min: 500, max: 599 } })).status, "pass");
  });

  it("sends the method and headers", async () => {
    seen.length = 0;
    await probe({ url: `${base}/200`, method: "head", headers: { "x-api-key": "k1" } });
    assert.equal(seen[0]!.method, "HEAD");
    assert.equal(seen[0]!.headers["x-api-key"], "k1");
  });

  it("sends URL credentials as Basic auth, since fetch refuses them in the URL", async () => {
    seen.length = 0;
    assert.equal((await probe({ url: `${base.replace("http://", "http://ad%40min:p%C3%A4ss@")}/200` })).status, "pass");
    assert.equal(seen[0]!.headers.authorization, `Basic ${Buffer.from("ad@min:päss").toString("base64")}`);
  });

  it("reports a refused connection safely", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await probe({ url: `http://user:pa55word@127.0.0.1:${port}/health?key=s3cret` });
    assert.equal(result.status, "fail");
    assert.equal(result.output, "unavailable: connection refused");
    assert.match(result.detail, /ECONNREFUSED/);
  });

  it("times out a server that never answers, through the runner's signal", async () => {
    const started = performance.now();
    const result = await probe({ url: `${base}/hang` }, 200);
    assert.ok(performance.now() - started < 1500);
    assert.equal(result.output, "unavailable: timed out after 200 ms");
  });

  it("never shows credentials or the query string", async () => {
    const check = httpEndpoint({ url: `${base.replace("http://", "http://admin:hunter2@")}/503?token=s3cret` });
    assert.equal(check.name, `http:${base.slice("http://".length)}`, "host only: a path can carry a secret too");
    const report = await runHealthChecks(quietConfig({ subsets: { s: [check] } }), "s");
    const shown = JSON.stringify({ name: report.checks[0]!.name, output: report.checks[0]!.output });
    assert.ok(!shown.includes("hunter2") && !shown.includes("s3cret") && !shown.includes("admin"), shown);
  });

  it("a bad or unset URL fails at run time (next build has no env); a bad range throws when defined", async () => {
    const result = await probe({ url: `${undefined}/health` });
    assert.equal(result.name, "http");
    assert.equal(result.output, "unavailable: no valid URL configured");
    assert.throws(() => httpEndpoint({ url: base, expectStatus: { min: 500, max: 200 } }), /min <= max/);
  });
});
