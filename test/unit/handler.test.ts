/**
 * The HTTP contract of a health endpoint, run against both adapters: the Fetch
 * handler (`handleHealthRequest`) and the node:http one (`createNodeHandler`,
 * over a real loopback socket). One suite, so the two cannot drift apart.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, afterEach, describe, it } from "node:test";
import { defineCheck, NO_STORE, setShuttingDown, type Check, type HealthConfigInput } from "../../src/index.ts";
import { counted, failing, passing, quietConfig, warning } from "../helpers/checks.ts";
import { ADAPTERS } from "../helpers/adapters.ts";

const leaky = defineCheck({ name: "db", componentType: "datastore", check: () => { throw new Error('connect ECONNREFUSED 10.1.2.3:5432 user "app" select * from secrets'); } });

function configWith(subsets: Record<string, Check[]>, options: Omit<HealthConfigInput, "subsets"> = {}) {
  return quietConfig({ subsets, cacheTtlMs: 0, ...options });
}

const standard = configWith({
  readiness: [passing("db", { componentType: "datastore" }), passing("cache")],
  failing: [failing("queue", "connection refused"), leaky],
  warns: [warning("disk", "disk 95% used")],
  degraded: [passing("db"), failing("search", "timeout", { critical: false })],
});

for (const adapter of ADAPTERS) {
  describe(adapter.name, () => {
    after(() => adapter.close());
    const { serve } = adapter;

    function get(path: string, headers: Record<string, string> = {}, method = "GET") {
      return serve(standard, path, { method, headers });
    }

    describe("status codes", () => {
      it("200 for a passing subset, with the no-store cache headers", async () => {
        const response = await get("/healthcheck/readiness", { accept: "application/json" });
        assert.equal(response.status, 200);
        assert.equal(response.headers.get("cache-control"), NO_STORE);
        assert.equal(response.headers.get("content-type"), "application/json");
        const body = await response.json();
        assert.equal(body.status, "pass");
        assert.deepEqual(Object.keys(body.checks), ["db", "cache"]);
      });

      it("failureStatus (500 by default) for a failing subset", async () => {
        assert.equal((await get("/healthcheck/failing")).status, 500);
        const config = configWith({ failing: [failing("x")] }, { failureStatus: 503 });
        assert.equal((await serve(config, "/healthcheck/failing")).status, 503);
      });

      it("a warning fails with warningsAsErrors, passes with 200 without it", async () => {
        assert.equal((await get("/healthcheck/warns")).status, 500);
        const lenient = configWith({ warns: [warning("disk")] }, { warningsAsErrors: false });
        const response = await serve(lenient, "/healthcheck/warns?format=json");
        assert.equal(response.status, 200);
        assert.equal((await response.json()).status, "warn");
      });

      it("a non-critical failure answers 200 with status warn", async () => {
        const response = await get("/healthcheck/degraded?format=json");
        assert.equal(response.status, 200);
        const body = await response.json();
        assert.equal(body.status, "warn");
        assert.equal(body.checks.search[0].status, "fail");
        assert.equal(body.checks.search[0].critical, false);
      });

      it("HEAD answers the same status and headers with no body", async () => {
        for (const [path, status] of [["/healthcheck/readiness", 200], ["/healthcheck/failing", 500], ["/healthcheck/nope", 404]] as const) {
          const response = await get(path, {}, "HEAD");
          assert.equal(response.status, status, path);
          assert.equal(response.headers.get("cache-control"), NO_STORE);
          assert.equal(await response.text(), "");
        }
      });

      it("405 with Allow for other methods", async () => {
        for (const method of ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"]) {
          const response = await get("/healthcheck/readiness", {}, method);
          assert.equal(response.status, 405, method);
          assert.equal(response.headers.get("allow"), "GET, HEAD");
        }
      });

      it("404 for unknown subsets, own keys only, percent-decoding and trailing slashes handled", async () => {
        for (const path of ["/healthcheck/nope", "/healthcheck/__proto__", "/healthcheck/constructor", "/healthcheck/toString", "/healthcheck/hasOwnProperty", "/healthcheck/%5F%5Fproto%5F%5F", "/healthcheck/%E0%A4%A", "/", "/healthcheck/readiness%2Fx"]) {
          const response = await get(path, { accept: "application/json" });
          assert.equal(response.status, 404, path);
          assert.equal(response.headers.get("cache-control"), NO_STORE);
        }
        assert.equal((await get("/healthcheck/readiness/")).status, 200);
        assert.equal((await get("/healthcheck/readiness//")).status, 200);
        assert.equal((await get("/healthcheck/read%69ness")).status, 200);
        assert.equal((await get("/healthcheck/readiness?x=1")).status, 200);
      });

      it("an explicit subset option wins over the path", async () => {
        const response = await serve(standard, adapter.fixedPath, {}, { subset: "readiness" });
        assert.equal(response.status, 200);
        const unknown = await serve(standard, adapter.fixedPath, {}, { subset: "nope" });
        assert.equal(unknown.status, 404);
      });

      it("406 when nothing acceptable, 400 for an unknown ?format=, both plain text", async () => {
        const notAcceptable = await get("/healthcheck/readiness", { accept: "image/png" });
        assert.equal(notAcceptable.status, 406);
        assert.match(await notAcceptable.text(), /application\/json/);
        const unknownFormat = await get("/healthcheck/readiness?format=yaml");
        assert.equal(unknownFormat.status, 400);
        assert.match(unknownFormat.headers.get("content-type")!, /^text\/plain/);
      });

      it("a malformed Accept gets HTML, never a 500", async () => {
        const response = await get("/healthcheck/readiness", { accept: "((((;q=\u00ff,,;;text" });
        assert.equal(response.status, 200);
        assert.match(response.headers.get("content-type")!, /^text\/html/);
      });
    });

    describe("JSON body (draft-inadarei-api-health-check-06)", () => {
      it("has the draft's fields per check", async () => {
        const response = await get("/healthcheck/failing", { accept: "application/json" });
        const body = await response.json();
        assert.equal(body.status, "fail");
        const [queue] = body.checks.queue;
        assert.deepEqual(Object.keys(queue).sort(), ["critical", "observedUnit", "observedValue", "output", "status", "time"]);
        assert.equal(queue.status, "fail");
        assert.equal(queue.output, "unavailable: connection refused");
        assert.equal(queue.observedUnit, "ms");
        assert.equal(typeof queue.observedValue, "number");
        assert.equal(queue.critical, true);
        assert.ok(!Number.isNaN(Date.parse(queue.time)));
        assert.equal(body.checks.db[0].componentType, "datastore");
      });

      it("omits output for a passing check without a message", async () => {
        const body = await (await get("/healthcheck/readiness?format=json")).json();
        assert.equal("output" in body.checks.db[0], false);
      });

      it("answers application/health+json when asked for it", async () => {
        const response = await get("/healthcheck/readiness", { accept: "application/health+json" });
        assert.equal(response.headers.get("content-type"), "application/health+json");
        assert.equal((await response.json()).status, "pass");
      });

      it("keys a check named __proto__ like any other", async () => {
        const config = configWith({ s: [passing("__proto__"), passing("constructor")] });
        const body = await (await serve(config, "/healthcheck/s?format=json")).json();
        assert.deepEqual(Object.keys(body.checks), ["__proto__", "constructor"]);
      });
    });

    describe("what is and is not leaked", () => {
      const secrets = ["ECONNREFUSED", "10.1.2.3", "5432", "select *", "secrets", '"app"'];

      it("public JSON and HTML carry safe messages only", async () => {
        for (const format of ["json", "html"]) {
          const text = await (await get(`/healthcheck/failing?format=${format}`)).text();
          assert.match(text, /unavailable: unexpected error/);
          assert.match(text, /unavailable: connection refused/);
          for (const secret of secrets) assert.ok(!text.includes(secret), `${format} leaked ${secret}`);
        }
      });

      it("raw detail appears with the right bearer token only", async () => {
        const config = configWith({ failing: [leaky] }, { token: "s3cret-token" });
        const ask = (authorization?: string) =>
          serve(config, "/healthcheck/failing?format=json", { headers: authorization ? { authorization } : {} }).then((r) => r.text());
        assert.match(await ask("Bearer s3cret-token"), /ECONNREFUSED 10\.1\.2\.3/);
        assert.match(await ask("bearer   s3cret-token  "), /ECONNREFUSED/);
        // A prefix, one more character, one other first or last character, another case, no token at all.
        for (const wrong of ["Bearer s3cret-toke", "Bearer s3cret-token2", "Bearer x3cret-token", "Bearer s3cret-tokem", "Bearer S3CRET-TOKEN", "Bearer s3cret-Token", "Basic s3cret-token", "s3cret-token", "Bearer", "Bearer  ", "Bearer s3cret-token extra", ""]) {
          const text = await ask(wrong);
          assert.ok(!text.includes("ECONNREFUSED"), `unlocked by ${JSON.stringify(wrong)}`);
        }
      });

      it("a wrong token whose SHA-256 digest shares its first or its last byte with the right one's unlocks nothing: the compare reads every byte", async () => {
        const token = "s3cret-token";
        const config = configWith({ failing: [leaky] }, { token });
        const digest = (value: string) => createHash("sha256").update(value).digest();
        const right = digest(token);
        // Searched for (about 256 tries each), so the test holds whatever the token.
        const sharingByte = (at: number) => {
          for (let index = 0; ; index++) if (digest(`wrong-${index}`)[at] === right[at]) return `wrong-${index}`;
        };
        for (const wrong of [sharingByte(0), sharingByte(right.length - 1)]) {
          const text = await serve(config, "/healthcheck/failing?format=json", { headers: { authorization: `Bearer ${wrong}` } }).then((r) => r.text());
          assert.ok(!text.includes("ECONNREFUSED"), `unlocked by ${wrong}`);
        }
      });

      describe("HEALTH_CHECK_TOKEN", () => {
        const saved = process.env.HEALTH_CHECK_TOKEN;
        afterEach(() => {
          if (saved === undefined) delete process.env.HEALTH_CHECK_TOKEN;
          else process.env.HEALTH_CHECK_TOKEN = saved;
        });

        it("unlocks detail when no token option is set, read per request", async () => {
          const config = configWith({ failing: [leaky] });
          const ask = () => serve(config, "/healthcheck/failing?format=html", { headers: { authorization: "Bearer from-env" } }).then((r) => r.text());
          delete process.env.HEALTH_CHECK_TOKEN;
          assert.ok(!(await ask()).includes("ECONNREFUSED"));
          process.env.HEALTH_CHECK_TOKEN = "from-env";
          assert.match(await ask(), /ECONNREFUSED/);
        });

        it("an empty HEALTH_CHECK_TOKEN unlocks nothing", async () => {
          process.env.HEALTH_CHECK_TOKEN = "";
          const config = configWith({ failing: [leaky] });
          const text = await serve(config, "/healthcheck/failing", { headers: { authorization: "Bearer " } }).then((r) => r.text());
          assert.ok(!text.includes("ECONNREFUSED"));
        });

        it("the token option wins over the environment", async () => {
          process.env.HEALTH_CHECK_TOKEN = "from-env";
          const config = configWith({ failing: [leaky] }, { token: "from-option" });
          const text = await serve(config, "/healthcheck/failing", { headers: { authorization: "Bearer from-env" } }).then((r) => r.text());
          assert.ok(!text.includes("ECONNREFUSED"));
        });
      });
    });

    describe("HTML page", () => {
      it("is one self-contained, noindex page with a row per check", async () => {
        const response = await get("/healthcheck/failing", { accept: "text/html" });
        assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
        assert.equal(response.headers.get("x-robots-tag"), "noindex");
        const html = await response.text();
        assert.match(html, /<meta name="robots" content="noindex/);
        assert.match(html, /<meta name="viewport"/);
        assert.equal((html.match(/<li /g) ?? []).length, 2);
        assert.match(html, /✗/);
        assert.doesNotMatch(html, /<(script|link|img)\b|src=|href=|url\(/i, "no external assets");
      });

      it("escapes names and messages", async () => {
        const config = configWith({ s: [failing(`<img src=x onerror=alert(1)>`, `<script>alert("x")</script>`)] });
        const html = await (await serve(config, "/healthcheck/s")).text();
        assert.ok(!html.includes("<img"));
        assert.ok(!html.includes("<script>"));
        assert.match(html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
      });

      it("escapes an unknown subset name echoed in a 404", async () => {
        const response = await get("/healthcheck/%3Cb%3Ex", { accept: "text/html" });
        assert.equal(response.status, 404);
        assert.ok(!(await response.text()).includes("<b>"));
      });
    });

    describe("coalescing", () => {
      it("100 concurrent requests run the check once", async () => {
        const check = counted("slow", 50);
        const config = configWith({ s: [check] });
        const responses = await Promise.all(Array.from({ length: 100 }, () => serve(config, "/healthcheck/s?format=json")));
        assert.equal(check.runs, 1);
        assert.ok(responses.every((response) => response.status === 200));
      });
    });

    describe("shutdown drain", () => {
      afterEach(() => setShuttingDown(false));
      const config = configWith({ readiness: [passing("db")], liveness: [passing("heart")], integrations: [passing("db")] });

      it("readiness and integrations answer 503 shutting down without running a check; liveness still passes", async () => {
        const check = counted("db");
        const counting = configWith({ readiness: [check], liveness: [passing("heart")] });
        setShuttingDown(true);
        for (const subset of ["readiness", "integrations"]) {
          const response = await serve(config, `/healthcheck/${subset}`, { headers: { accept: "application/json" } });
          assert.equal(response.status, 503, subset);
          assert.equal(response.headers.get("cache-control"), NO_STORE);
          assert.deepEqual(await response.json(), { status: "fail", output: "shutting down" });
        }
        const html = await serve(config, "/healthcheck/readiness", { headers: { accept: "text/html" } });
        assert.equal(html.status, 503);
        assert.match(await html.text(), /shutting down/);
        assert.equal((await serve(counting, "/healthcheck/readiness")).status, 503);
        assert.equal(check.runs, 0, "no check runs while draining");
        assert.equal((await serve(config, "/healthcheck/liveness?format=json")).status, 200);
        assert.equal((await serve(config, "/healthcheck/nope", { headers: { accept: "application/json" } })).status, 404);
      });

      it("serves normally again once the drain is called off", async () => {
        setShuttingDown(true);
        assert.equal((await serve(config, "/healthcheck/readiness")).status, 503);
        setShuttingDown(false);
        assert.equal((await serve(config, "/healthcheck/readiness")).status, 200);
      });
    });
  });
}

describe("answerHealthRequest: negotiation memo", () => {
  it("no pair of format and Accept values can answer for another pair", async () => {
    const { answerHealthRequest } = await import("../../src/index.ts");
    const config = quietConfig({ subsets: { s: [passing("db")] } });
    const ask = (format: string | null, accept: string | null) =>
      answerHealthRequest({ method: "GET", pathname: "/s", format, accept, authorization: null }, config);
    // Before the memo was length-prefixed, the first call's key spelled the second's.
    assert.match((await ask(null, "json\napplication/json")).headers["Content-Type"]!, /^text\/html/);
    assert.equal((await ask("json", "application/json")).headers["Content-Type"], "application/json");
  });
});
