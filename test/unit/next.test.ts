import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HealthConfigError } from "../../src/index.ts";
import { createHealthRoute } from "../../src/next/index.ts";
import { counted, failing, passing, quietConfig } from "../helpers/checks.ts";

const config = quietConfig({ subsets: { readiness: [passing("db")], integrations: [failing("redis")] } });
const params = (subset: unknown) => ({ params: Promise.resolve({ subset } as Record<string, string>) });

describe("createHealthRoute", () => {
  it("serves the subset named by the [subset] param (a Promise, as in Next 15/16)", async () => {
    const { GET } = createHealthRoute(config);
    assert.equal((await GET(new Request("http://app.test/healthcheck/readiness"), params("readiness"))).status, 200);
    assert.equal((await GET(new Request("http://app.test/healthcheck/integrations"), params("integrations"))).status, 500);
    assert.equal((await GET(new Request("http://app.test/healthcheck/x"), params("__proto__"))).status, 404);
    assert.equal((await GET(new Request("http://app.test/healthcheck/x"), params("constructor"))).status, 404);
  });

  it("the param wins over the URL (rewrites, basePath), and is not decoded again (Next already did)", async () => {
    const { GET } = createHealthRoute(config);
    assert.equal((await GET(new Request("http://app.test/some/rewrite"), params("readiness"))).status, 200);
    assert.equal((await GET(new Request("http://app.test/x"), params("read%69ness"))).status, 404);
    assert.equal((await GET(new Request("http://app.test/x"), params("%E0%A4%A"))).status, 404);
  });

  it("falls back to the path when there is no usable param", async () => {
    const { GET } = createHealthRoute(config);
    assert.equal((await GET(new Request("http://app.test/healthcheck/readiness"))).status, 200);
    assert.equal((await GET(new Request("http://app.test/healthcheck/readiness"), { params: Promise.resolve({}) })).status, 200);
    assert.equal((await GET(new Request("http://app.test/healthcheck/readiness"), params(["a", "b"]))).status, 200);
  });

  it("serves one fixed subset", async () => {
    const { GET, HEAD } = createHealthRoute(config, { subset: "readiness" });
    assert.equal((await GET(new Request("http://app.test/healthcheck/readiness"))).status, 200);
    const head = await HEAD(new Request("http://app.test/whatever", { method: "HEAD" }), params("integrations"));
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
  });

  it("accepts the subsets themselves with options beside them", async () => {
    const check = counted("c");
    const { GET } = createHealthRoute({ readiness: [check] }, { cacheTtlMs: 0, logger: false, failureStatus: 503 });
    await GET(new Request("http://app.test/healthcheck/readiness"), params("readiness"));
    await GET(new Request("http://app.test/healthcheck/readiness"), params("readiness"));
    assert.equal(check.runs, 2, "cacheTtlMs: 0 reached the config");
    const { GET: failingGET } = createHealthRoute({ s: [failing("x")] }, { failureStatus: 503, logger: false });
    assert.equal((await failingGET(new Request("http://app.test/s"), params("s"))).status, 503);
  });

  it("a fixed subset that does not exist throws when the module is evaluated", () => {
    assert.throws(() => createHealthRoute(config, { subset: "readyness" }), /unknown subset "readyness"; known subsets: readiness, integrations/);
  });

  it("throws HealthConfigError for broken subsets when the module is evaluated", () => {
    assert.throws(() => createHealthRoute({ readiness: [passing("a"), passing("a")] }), HealthConfigError);
    assert.throws(() => createHealthRoute({}), HealthConfigError);
  });
});
