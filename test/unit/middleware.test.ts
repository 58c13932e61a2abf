import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LIVENESS_HEADER, liveness, withLiveness } from "../../src/middleware/index.ts";

const request = (path: string, method = "GET") => new Request(`http://app.test${path}`, { method });

describe("liveness", () => {
  it("answers GET and HEAD on the path, with or without a trailing slash", async () => {
    for (const path of ["/healthcheck/liveness", "/healthcheck/liveness/", "/healthcheck/liveness?probe=k8s", "/healthcheck/liveness#x"]) {
      const response = liveness(request(path));
      assert.ok(response, path);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), '{"status":"ok"}');
      assert.equal(response.headers.get("content-type"), "application/json");
      assert.equal(response.headers.get("cache-control"), "no-store, no-cache, must-revalidate, private, max-age=0");
      assert.equal(response.headers.get(LIVENESS_HEADER), "short-circuit");
    }
    const head = liveness(request("/healthcheck/liveness", "HEAD"));
    assert.equal(head?.status, 200);
    assert.equal(await head?.text(), "");
  });

  it("lets everything else through", () => {
    for (const path of ["/", "/healthcheck/liveness-x", "/healthcheck/liveness/deeper", "/healthcheck/livenes", "/x/healthcheck/liveness", "/healthcheck/liveness//", "/HEALTHCHECK/LIVENESS", "/healthcheck/readiness"]) {
      assert.equal(liveness(request(path)), undefined, path);
    }
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"]) {
      assert.equal(liveness(request("/healthcheck/liveness", method)), undefined, method);
    }
  });

  it("answers a configured path instead", () => {
    assert.equal(liveness(request("/livez"), { path: "/livez" })?.status, 200);
    assert.equal(liveness(request("/healthcheck/liveness"), { path: "/livez" }), undefined);
  });
});

describe("withLiveness", () => {
  it("answers liveness before the wrapped proxy runs, and hands every other request to it", async () => {
    let calls = 0;
    const proxy = withLiveness((req: Request, event: { tag: string }) => {
      calls++;
      return Response.redirect(new URL(`/login?from=${event.tag}`, req.url), 307);
    });
    const live = await proxy(request("/healthcheck/liveness"), { tag: "t" });
    assert.equal(live?.status, 200);
    assert.equal(calls, 0);
    const other = await proxy(request("/dashboard"), { tag: "t" });
    assert.equal(other?.status, 307);
    assert.equal(other?.headers.get("location"), "http://app.test/login?from=t");
    assert.equal(calls, 1);
  });

  it("with no proxy, every other request continues (undefined)", () => {
    const proxy = withLiveness();
    assert.equal(proxy(request("/healthcheck/liveness"))?.status, 200);
    assert.equal(proxy(request("/anything")), undefined);
  });

  it("passes the path option on", () => {
    const proxy = withLiveness(undefined, { path: "/livez" });
    assert.equal(proxy(request("/livez/"))?.status, 200);
    assert.equal(proxy(request("/healthcheck/liveness")), undefined);
  });
});

describe("withLiveness types", () => {
  it("keeps a proxy's own request type (e.g. NextRequest)", async () => {
    class AppRequest extends Request {
      readonly nextUrl = new URL(this.url);
    }
    const proxy = withLiveness((req: AppRequest) => new Response(req.nextUrl.pathname));
    const response = await proxy(new AppRequest("http://app.test/dashboard"));
    assert.equal(await response.text(), "/dashboard");
  });
});

describe("isLivenessPath: the one liveness rule", () => {
  it("the path, or the path and one trailing slash; a configured trailing slash changes nothing", async () => {
    const { isLivenessPath } = await import("../../src/middleware/index.ts");
    assert.equal(isLivenessPath("/healthcheck/liveness"), true);
    assert.equal(isLivenessPath("/healthcheck/liveness/"), true);
    for (const other of ["/healthcheck/liveness//", "/healthcheck/livenessx", "/healthcheck", "/Healthcheck/liveness", ""]) assert.equal(isLivenessPath(other), false, other);
    assert.equal(isLivenessPath("/livez", "/livez/"), true);
    assert.equal(isLivenessPath("/livez/", "/livez"), true);
    assert.equal(isLivenessPath("/", "/"), true);
  });

  it("the drain, probekit/node and the short-circuit all follow it", async () => {
    const { defineHealthConfig, handleHealthRequest, setShuttingDown } = await import("../../src/index.ts");
    const config = defineHealthConfig({ subsets: { livez: [{ name: "a", check() {} }], readiness: [{ name: "b", check() {} }] }, livenessPath: "/livez/", logger: false });
    setShuttingDown(true);
    try {
      // Served by a route at the liveness path (no short-circuit in front): never drained.
      assert.equal((await handleHealthRequest(new Request("http://x/livez"), config)).status, 200);
      assert.equal((await handleHealthRequest(new Request("http://x/livez/"), config)).status, 200);
      assert.equal((await handleHealthRequest(new Request("http://x/healthcheck/readiness"), config)).status, 503);
    } finally {
      setShuttingDown(false);
    }
  });
});
