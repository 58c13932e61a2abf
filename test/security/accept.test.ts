/**
 * One hundred malformed `Accept` headers (a hand list plus fast-check ones)
 * against both adapters: always a 200 in a known content type or the documented
 * 406, never a 500. A malformed header counts as `*\/*` (HTML).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { NO_STORE } from "../../src/index.ts";
import { createNodeHandler } from "../../src/node/index.ts";
import { ADAPTERS, fetchAdapter } from "../helpers/adapters.ts";
import { passing, quietConfig } from "../helpers/checks.ts";
import { recordProcessFaults } from "../helpers/process-faults.ts";
import { listenLocally, rawRequest } from "../helpers/raw-http.ts";

const faults = recordProcessFaults();
after(async () => {
  for (const adapter of ADAPTERS) await adapter.close();
  await faults.assertNoneAfter(200);
});

const config = quietConfig({ subsets: { readiness: [passing("db")] }, cacheTtlMs: 0 });

let server: ReturnType<typeof listenLocally> | undefined;
/** A node:http server of its own, for the raw requests fetch refuses to send. */
async function nodePort(): Promise<number> {
  server ??= listenLocally(createNodeHandler(config));
  return (await server).port;
}
after(async () => (await server)?.close());

const HTML = "text/html; charset=utf-8";
const JSON_TYPE = "application/json";
const HEALTH_JSON = "application/health+json";
const OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8";
const NOT_ACCEPTABLE =
  "not acceptable: this resource is available as text/html, application/json, application/health+json, application/openmetrics-text; version=1.0.0, text/plain; version=0.0.4\n";

/** A header value as the wire carries it: UTF-8 bytes read as latin1 (what node:http hands over), no CR, LF or NUL. */
function onTheWire(value: string): string {
  return Buffer.from(value, "utf8").toString("latin1").replace(/[\r\n\0]/g, "");
}

/** Asserts a valid answer: 200 in a known type with a body of that type, or the documented 406. Returns the content type. */
async function assertValidAnswer(response: Response, what: string): Promise<string> {
  const type = response.headers.get("content-type") ?? "";
  const body = await response.text();
  const context = `${what} -> ${response.status} ${type} ${body.slice(0, 120)}`;
  assert.equal(response.headers.get("cache-control"), NO_STORE, context);
  if (response.status === 406) {
    assert.equal(type, "text/plain; charset=utf-8", context);
    assert.equal(body, NOT_ACCEPTABLE, context);
    return type;
  }
  assert.equal(response.status, 200, context);
  if (type === HTML) assert.match(body, /^<!doctype html>[\s\S]*<\/html>$/, context);
  else if (type === JSON_TYPE || type === HEALTH_JSON) assert.equal(JSON.parse(body).status, "pass", context);
  else if (type === OPENMETRICS) assert.match(body, /^# TYPE [\s\S]*\n# EOF\n$/, context);
  else if (type === PROMETHEUS) assert.match(body, /^# TYPE [\s\S]*\nprobekit_shutting_down 0\n$/, context);
  else assert.fail(`unknown content type: ${context}`);
  return type;
}

const huge = (item: string, bytes: number) => Array.from({ length: Math.ceil(bytes / (item.length + 1)) }, () => item).join(",");

/** [Accept, the content type (or 406) it must get]. Malformed means `*\/*`: HTML. */
const HAND_LIST: [string, string | 406][] = [
  ["", HTML],
  [",", HTML],
  [",,,,,,", HTML],
  [" , , ", HTML],
  [";", HTML],
  [";;;", HTML],
  ["q=1", HTML],
  ["*", HTML],
  ["**/**", 406], // "*" is a token character: a well-formed range that matches nothing
  ["*/html", HTML],
  ["text/", HTML],
  ["/html", HTML],
  ["text", HTML],
  ["text/html;q=NaN", HTML],
  ["*/*;q=NaN", HTML],
  ["application/json;q=-1", HTML],
  ["application/json;q=2", HTML],
  ["application/json;q=1.0001", HTML],
  ["application/json;q=0.0001", HTML],
  ["application/json;q=1e0", HTML],
  ["application/json;q=", HTML],
  ["application/json;q", HTML],
  // RFC 9110 §5.6.6 allows an empty parameter; probekit's parser counts it as malformed (*/*), still a valid answer.
  ["application/json;;q=0.5", HTML],
  ["application/json ; q = 0.5", JSON_TYPE],
  ['application/json;q="0.5"', HTML],
  ["application/json;q=0.5;q=0.9", JSON_TYPE],
  ['application/json;foo="bar', HTML],
  ['application/json;foo="a\\"b"', JSON_TYPE],
  ["application/json;q=０.5", HTML],
  ["téxt/html", HTML],
  ["text/😀", HTML],
  ["\u00a0application/json", HTML],
  ["application/json\u00a0", HTML],
  ["APPLICATION/JSON", JSON_TYPE],
  ["application/health+json", HEALTH_JSON],
  ["application/*", JSON_TYPE],
  ["text/*;q=0.9, application/*;q=0.91", JSON_TYPE],
  ["application/xhtml+xml", HTML],
  ["application/json,", JSON_TYPE],
  ["\tapplication/json\t", JSON_TYPE],
  ["image/png", 406],
  ["text/html;q=0, application/json;q=0, application/health+json;q=0", 406],
  ["*/*;q=0", 406],
  ["image/*, video/*", 406],
  [huge("text/html;q=0.1", 3000), HTML], // under 4 KB: parsed
  [huge("image/png;q=0.5", 3000), 406],
  [huge("image/png;q=0.5", 8192), HTML], // 8 KB: too long to parse, counts as */*
  // Metrics: only the exact type, in a version probekit writes; odd versions fall through to the next range.
  ["application/openmetrics-text", OPENMETRICS],
  ["APPLICATION/OPENMETRICS-TEXT; VERSION=1.0.0", OPENMETRICS],
  ['application/openmetrics-text;version="1.0.0"', OPENMETRICS],
  ["application/openmetrics-text;version=", HTML],
  ['application/openmetrics-text;version="1.0.0', HTML],
  ["application/openmetrics-text;version=1.0.0;q=2", HTML],
  ["application/openmetrics-text;version=1.0", 406],
  ["application/openmetrics-text;version=1.0.0.0", 406],
  ["application/openmetrics-text;version=1.0.0, */*;q=0.1", OPENMETRICS],
  ["application/openmetrics-text;version=0.0.1", 406],
  ["application/openmetrics-text;version=1.0.0;q=0.1, application/openmetrics-text;q=0.9, */*;q=0.5", HTML],
  ["application/openmetrics-text;version=3, */*;q=0.1", HTML],
  ["application/openmetrics-text;version=3, text/plain;version=0.0.4;q=0.5", PROMETHEUS],
  ["application/openmetrics-*", 406], // a well-formed range ("*" is a token character) that names no type offered
  ["application/openmetrics-text;q=0, text/plain;version=0.0.4", PROMETHEUS],
  ["text/plain", 406],
  ["text/plain;version=0.0.4", PROMETHEUS],
  ["text/plain; version=0.0.4; charset=utf-8", PROMETHEUS],
  ["text/plain;version=0.0.5", 406],
  ["text/plain;version=" + "9".repeat(300), 406],
  ["text/plain;version=0.0.4, text/html", PROMETHEUS],
  ["text/html, text/plain;version=0.0.4", HTML],
  ["text/*;version=0.0.4", HTML],
  [`application/json;${"x=y;".repeat(2000)}`, HTML],
  [`application/json;${"x=y;".repeat(500)}q=1`, JSON_TYPE],
  [huge("a/b;q=0.5", 8192), HTML],
];

for (const adapter of ADAPTERS) {
  describe(`${adapter.name}: malformed Accept`, () => {
    const get = (accept: string) => adapter.serve(config, "/healthcheck/readiness", { headers: { accept: onTheWire(accept) } });

    it(`${HAND_LIST.length} hand-written headers: empty, commas, odd q-values, 8 KB, unicode`, async () => {
      const mismatches: string[] = [];
      for (const [accept, expected] of HAND_LIST) {
        const what = JSON.stringify(accept.slice(0, 60));
        const response = await get(accept);
        const type = await assertValidAnswer(response, what);
        const got = response.status === 406 ? 406 : type;
        if (got !== expected) mismatches.push(`${what}: got ${got}, expected ${expected}`);
      }
      assert.deepEqual(mismatches, []);
    });

    it("fast-check headers assembled from media-range pieces and junk: always 200 or 406", async () => {
      const piece = fc.oneof(
        fc.constantFrom("text", "html", "application", "json", "health+json", "xhtml+xml", "*", "/", ";", ",", "q", "=", "0", "1", ".", "-", "0.5", "NaN", '"', "\\", " ", "\t", "é", "😀", "\u00a0", "ÿ"),
        fc.string({ unit: "grapheme-ascii", maxLength: 8 }),
      );
      const accepts = fc.array(piece, { minLength: 1, maxLength: 40 }).map((pieces) => pieces.join(""));
      const seen: string[] = [];
      await fc.assert(
        fc.asyncProperty(accepts, async (accept) => {
          seen.push(accept);
          // Node rejects control characters in a header value itself (400); those are covered below.
          const value = onTheWire(accept).replace(/[\x00-\x08\x0a-\x1f\x7f]/g, "");
          await assertValidAnswer(await adapter.serve(config, "/healthcheck/readiness", { headers: { accept: value } }), JSON.stringify(value.slice(0, 80)));
        }),
        { numRuns: 60 },
      );
      assert.ok(HAND_LIST.length + seen.length >= 100, "at least 100 malformed headers in all");
    });

    it("two Accept headers are one list: the first acceptable range wins", async () => {
      const headers = new Headers();
      headers.append("accept", "application/json");
      headers.append("accept", "text/html");
      const response = await adapter.serve(config, "/healthcheck/readiness", { headers });
      assert.equal(await assertValidAnswer(response, "two Accept headers"), JSON_TYPE);
    });

    it("?format= wins over any Accept, also a malformed or unacceptable one", async () => {
      for (const accept of ["image/png", "((((", "*/*;q=0", huge("a/b", 8192)]) {
        const json = await adapter.serve(config, "/healthcheck/readiness?format=json", { headers: { accept } });
        assert.equal(await assertValidAnswer(json, accept.slice(0, 20)), JSON_TYPE);
        const html = await adapter.serve(config, "/healthcheck/readiness?format=html", { headers: { accept } });
        assert.equal(await assertValidAnswer(html, accept.slice(0, 20)), HTML);
      }
    });

    it("control characters in Accept: the Fetch handler answers HTML; node:http rejects the request itself (400) and keeps serving", async () => {
      for (const accept of ["text/html\u0001", "application/json\u001f", "\u007f"]) {
        if (adapter === fetchAdapter) {
          assert.equal(await assertValidAnswer(await adapter.serve(config, "/healthcheck/readiness", { headers: { accept } }), JSON.stringify(accept)), HTML);
        } else {
          // fetch refuses to send these: write them to a socket.
          const response = await rawRequest(await nodePort(), `GET /healthcheck/readiness HTTP/1.1\r\nHost: x\r\nAccept: ${accept}`);
          assert.equal(response.status, 400, JSON.stringify(accept));
        }
      }
      assert.equal((await adapter.serve(config, "/healthcheck/readiness")).status, 200);
      if (adapter !== fetchAdapter) assert.equal((await rawRequest(await nodePort(), "GET /healthcheck/readiness HTTP/1.1\r\nHost: x")).status, 200);
    });
  });
}
