/**
 * Hostile subset names, paths and query strings against both adapters (and the
 * Next route's `[subset]` param): encoded slashes and dots, NUL, CR/LF, overlong
 * UTF-8, 10 KB names, prototype keys, unicode, repeated and odd `?format=`. The
 * answer is always a 200/500 for exactly the subset the URL names, or a 404/400
 * with the documented body — never another subset, never more than 64 characters
 * of the name echoed, always escaped in HTML.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { NO_STORE } from "../../src/index.ts";
import { createHealthRoute } from "../../src/next/index.ts";
import { createNodeHandler } from "../../src/node/index.ts";
import { ADAPTERS, fetchAdapter, type Adapter } from "../helpers/adapters.ts";
import { failing, passing, quietConfig } from "../helpers/checks.ts";
import { recordProcessFaults } from "../helpers/process-faults.ts";
import { listenLocally, rawRequest } from "../helpers/raw-http.ts";

const faults = recordProcessFaults();
after(async () => {
  for (const adapter of ADAPTERS) await adapter.close();
  await faults.assertNoneAfter(200);
});

/** Each subset has checks no other subset has, so a body shows which subset ran. */
const SUBSETS = { readiness: ["readiness-db"], admin: ["admin-secret"] } as const;
type SubsetName = keyof typeof SUBSETS;
const STATUS: Record<SubsetName, number> = { readiness: 200, admin: 500 };

const config = quietConfig({
  subsets: { readiness: [passing("readiness-db")], admin: [failing("admin-secret", "admin subset ran")] },
  cacheTtlMs: 0,
});

/** What a path must get: a subset run, a 404 naming what it read (undefined: a malformed escape), or node:http's "outside the base path". */
type Expected = { subset: SubsetName } | { unknown: string | undefined } | "outside" | "liveness";

const BASE = "/healthcheck/";

/** The documented rule: the last non-empty segment of `URL.pathname`, percent-decoded; a malformed escape names nothing. */
function expectedFor(path: string, adapter: Adapter): Expected {
  const { pathname } = new URL(path, "http://app.test");
  if (adapter !== fetchAdapter) {
    // node:http serves its base path only, and answers the liveness path itself.
    if (pathname === "/healthcheck/liveness" || pathname === "/healthcheck/liveness/") return "liveness";
    if (!(pathname.startsWith(BASE) && pathname.length > BASE.length)) return "outside";
  }
  const last = pathname.split("/").filter(Boolean).at(-1);
  let name: string | undefined;
  try {
    name = last === undefined ? undefined : decodeURIComponent(last);
  } catch {
    name = undefined;
  }
  return name !== undefined && Object.hasOwn(SUBSETS, name) ? { subset: name as SubsetName } : { unknown: name };
}

function unknownSubset(name: string | undefined): string {
  return name === undefined ? "unknown subset" : `unknown subset ${JSON.stringify(name.slice(0, 64))}`;
}

const escapeHtml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

/** Asserts status, headers and body of a JSON (or HTML) answer against what the path names. */
async function assertAnswer(response: Response, expected: Expected, format: "json" | "html", what: string): Promise<void> {
  const body = await response.text();
  const context = `${what} -> ${response.status} ${body.slice(0, 300)}`;
  assert.equal(response.headers.get("cache-control"), NO_STORE, context);
  assert.equal(response.headers.get("set-cookie"), null, context);
  if (expected === "outside") {
    assert.equal(response.status, 404, context);
    assert.equal(body, "not found\n", context);
    return;
  }
  if (expected === "liveness") {
    assert.equal(response.status, 200, context);
    assert.equal(body, '{"status":"ok"}', context);
    return;
  }
  if ("subset" in expected) {
    assert.equal(response.status, STATUS[expected.subset], context);
    const names = Object.values(SUBSETS).flat();
    for (const name of names) assert.equal(body.includes(name), (SUBSETS[expected.subset] as readonly string[]).includes(name), `${context}: check ${name}`);
    return;
  }
  const message = unknownSubset(expected.unknown);
  assert.equal(response.status, 404, context);
  if (format === "json") {
    assert.equal(response.headers.get("content-type"), "application/json", context);
    assert.deepEqual(JSON.parse(body), { status: "fail", output: message }, context);
  } else {
    assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8", context);
    assert.ok(body.includes(`<p>${escapeHtml(message)}</p>`), context);
  }
  // Never more than 64 characters of the name, and no subset's checks.
  const echoed = JSON.parse(message.slice("unknown subset ".length) || '""') as string;
  assert.ok(echoed.length <= 64, context);
  for (const name of Object.values(SUBSETS).flat()) assert.ok(!body.includes(name), `${context}: ran ${name}`);
}

const HEADERS = { json: { accept: "application/json" }, html: { accept: "text/html" } } as const;

/** Path fragments that have broken routers before. */
const FRAGMENTS = [
  "readiness", "admin", "liveness", "..", ".", "%2e%2e", "%2E%2E", "%2e", ".%2e", "%2F", "%2f", "/", "//", "\\", "%5C", "%00", "%0D%0A", "%0d%0a",
  "%C0%AF", "%C0%AE%C0%AE", "%E0%80%AF", "%ED%A0%80", "%FF", "%", "%zz", "%25", "%2525", "__proto__", "constructor", "prototype", "toString",
  "%5F%5Fproto%5F%5F", "é", "r%C3%A9", "😀", "%F0%9F%98%80", ";", ";admin", "?", "?x=", "#", "#/admin", "%3F", "%23", " ", "%20", "+", "<b>", "%3Cb%3E", "'\"",
];

for (const adapter of ADAPTERS) {
  describe(`${adapter.name}: hostile paths`, () => {
    const get = (path: string, format: "json" | "html" = "json", method = "GET") => adapter.serve(config, path, { method, headers: HEADERS[format] });

    it("serves exactly the subset the path names, or 404 with the documented body", async () => {
      const tenKb = "a".repeat(10_000);
      // [path, what the Fetch handler answers, what node:http answers when it differs]
      const cases: [string, Expected, Expected?][] = [
        ["/healthcheck/readiness", { subset: "readiness" }],
        ["/healthcheck/admin%2Freadiness", { unknown: "admin/readiness" }],
        ["/healthcheck/admin%2freadiness", { unknown: "admin/readiness" }],
        ["/healthcheck/readiness%2F", { unknown: "readiness/" }],
        ["/healthcheck/readiness%2F..%2Fadmin", { unknown: "readiness/../admin" }],
        ["/healthcheck/..%2fadmin", { unknown: "../admin" }],
        ["/healthcheck/readiness/../admin", { subset: "admin" }],
        ["/healthcheck/readiness/%2e%2e/admin", { subset: "admin" }],
        ["/healthcheck/readiness\\..\\admin", { subset: "admin" }],
        ["/healthcheck/admin/..", { unknown: "healthcheck" }, "outside"],
        ["/healthcheck/%2e%2e", { unknown: undefined }, "outside"],
        ["/healthcheck/%2E%2E/%2e%2e/etc/passwd", { unknown: "passwd" }, "outside"],
        ["/healthcheck/%2e%2e/admin", { subset: "admin" }, "outside"],
        ["/healthcheck/readiness%00", { unknown: "readiness\u0000" }],
        ["/healthcheck/%00", { unknown: "\u0000" }],
        ["/healthcheck/readiness%0D%0ASet-Cookie:%20a=b", { unknown: "readiness\r\nSet-Cookie: a=b" }],
        ["/healthcheck/%0d%0a", { unknown: "\r\n" }],
        ["/healthcheck/__proto__", { unknown: "__proto__" }],
        ["/healthcheck/%5F%5Fproto%5F%5F", { unknown: "__proto__" }],
        ["/healthcheck/constructor", { unknown: "constructor" }],
        ["/healthcheck/prototype", { unknown: "prototype" }],
        ["/healthcheck/hasOwnProperty", { unknown: "hasOwnProperty" }],
        ["/healthcheck/valueOf", { unknown: "valueOf" }],
        ["/healthcheck/%C0%AF", { unknown: undefined }], // overlong "/"
        ["/healthcheck/%C0%AE%C0%AE", { unknown: undefined }], // overlong ".."
        ["/healthcheck/%E0%80%AF", { unknown: undefined }], // 3-byte overlong "/"
        ["/healthcheck/%ED%A0%80", { unknown: undefined }], // an encoded surrogate
        ["/healthcheck/%FF", { unknown: undefined }],
        ["/healthcheck/%", { unknown: undefined }],
        ["/healthcheck/%zz", { unknown: undefined }],
        ["/healthcheck/%25", { unknown: "%" }],
        ["/healthcheck/read%2569ness", { unknown: "read%69ness" }], // decoded once, not twice
        ["/healthcheck/READINESS", { unknown: "READINESS" }],
        ["/healthcheck/readiness%20", { unknown: "readiness " }],
        ["/healthcheck/%20readiness", { unknown: " readiness" }],
        ["/healthcheck/readiness;admin", { unknown: "readiness;admin" }],
        ["/healthcheck/r%C3%A9adiness", { unknown: "réadiness" }],
        ["/healthcheck/%F0%9F%98%80", { unknown: "😀" }],
        ["/healthcheck/😀", { unknown: "😀" }],
        ["/healthcheck/" + "😀".repeat(40), { unknown: "😀".repeat(40) }], // the 404 echoes the first 64 UTF-16 units
        ["/healthcheck/readiness?x=/admin", { subset: "readiness" }],
        ["/healthcheck/readiness#/admin", { subset: "readiness" }],
        ["/healthcheck/admin?/readiness", { subset: "admin" }],
        [`/healthcheck/${tenKb}`, { unknown: tenKb }],
      ];
      for (const [path, forFetch, forNode] of cases) {
        const expected = adapter === fetchAdapter ? forFetch : (forNode ?? forFetch);
        // The table and the documented rule agree.
        assert.deepEqual(expected, expectedFor(path, adapter), `model for ${path.slice(0, 80)}`);
        for (const format of ["json", "html"] as const) await assertAnswer(await get(path, format), expected, format, `${format} ${path.slice(0, 80)}`);
      }
    });

    it("escapes a hostile name in the HTML 404 and echoes at most 64 characters of it", async () => {
      for (const name of ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "'&amp;<", `${"<".repeat(100)}`]) {
        const response = await get(`/healthcheck/${encodeURIComponent(name)}`, "html");
        assert.equal(response.status, 404);
        const body = await response.text();
        assert.ok(!/<(script|img)\b/i.test(body), body);
        assert.ok(body.includes(`<p>${escapeHtml(unknownSubset(name))}</p>`), body);
        assert.ok(!body.includes("&lt;".repeat(65)), "at most 64 characters of the name");
      }
    });

    it("HEAD on a hostile path: the same 404, no body", async () => {
      for (const path of ["/healthcheck/__proto__", "/healthcheck/%00", "/healthcheck/%C0%AF", `/healthcheck/${"x".repeat(10_000)}`]) {
        const response = await get(path, "json", "HEAD");
        assert.equal(response.status, 404, path);
        assert.equal(await response.text(), "", path);
      }
    });

    it("random names, percent-encoded: always the 404 that names them (fast-check)", async () => {
      const names = fc
        .string({ unit: "binary", minLength: 1, maxLength: 80 })
        .filter((name) => name !== "." && name !== ".." && !Object.hasOwn(SUBSETS, name) && isWellFormed(name));
      await fc.assert(
        fc.asyncProperty(names, fc.constantFrom("json" as const, "html" as const), async (name, format) => {
          const path = `/healthcheck/${encodeURIComponent(name)}`;
          await assertAnswer(await get(path, format), { unknown: name }, format, `${format} ${JSON.stringify(name)}`);
        }),
        { numRuns: 150 },
      );
    });

    it("paths assembled from hostile fragments: the subset named, or the documented 404 (fast-check)", async () => {
      const segments = fc.array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 6 }).map((parts) => parts.join(""));
      await fc.assert(
        fc.asyncProperty(segments, fc.constantFrom("json" as const, "html" as const), async (segment, format) => {
          const path = `/healthcheck/${segment}`;
          await assertAnswer(await get(path, format), expectedFor(path, adapter), format, `${format} ${JSON.stringify(path)}`);
        }),
        { numRuns: 200 },
      );
    });
  });

  describe(`${adapter.name}: hostile query strings`, () => {
    const get = (query: string, headers: Record<string, string> = {}) => adapter.serve(config, `/healthcheck/readiness${query}`, { headers });

    /** `?format=` as the documented rule reads it: the first value, trimmed, any case. */
    async function assertFormatAnswer(query: string, response: Response): Promise<void> {
      const value = new URLSearchParams(query.slice(1)).get("format");
      const body = await response.text();
      const context = `${query.slice(0, 80)} -> ${response.status} ${body.slice(0, 200)}`;
      assert.equal(response.headers.get("set-cookie"), null, context);
      assert.equal(response.headers.get("cache-control"), NO_STORE, context);
      const wanted = value?.trim().toLowerCase();
      if (value === null || wanted === "html") {
        // No ?format= at all: Accept decides, and the client sent none or */* (HTML).
        assert.equal(response.status, 200, context);
        assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8", context);
        assert.match(body, /^<!doctype html>/, context);
      } else if (wanted === "json") {
        assert.equal(response.status, 200, context);
        assert.equal(response.headers.get("content-type"), "application/json", context);
        assert.equal(JSON.parse(body).status, "pass", context);
      } else if (wanted === "openmetrics" || wanted === "prometheus") {
        assert.equal(response.status, 200, context);
        assert.match(response.headers.get("content-type") ?? "", wanted === "openmetrics" ? /^application\/openmetrics-text; version=1\.0\.0/ : /^text\/plain; version=0\.0\.4/, context);
        assert.match(body, /probekit_subset_status\{subset="readiness",status="pass"\} 1/, context);
      } else {
        assert.equal(response.status, 400, context);
        assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8", context);
        assert.equal(body, `unknown format ${JSON.stringify(value.slice(0, 32))}: use ?format=json, html, openmetrics or prometheus\n`, context);
      }
    }

    it("repeated, empty, odd-typed and injected ?format= values", async () => {
      const cases: [string, number, string?][] = [
        ["?format=json", 200, "application/json"],
        ["?format=JSON", 200, "application/json"],
        ["?format=%20json%20", 200, "application/json"],
        ["?format=+json+", 200, "application/json"],
        ["?format=json&format=html", 200, "application/json"], // the first wins
        ["?format=html&format=json", 200, "text/html; charset=utf-8"],
        ["?format=html&format=", 200, "text/html; charset=utf-8"],
        ["?format=yaml&format=json", 400],
        ["?format=", 400],
        ["?format", 400],
        ["?format=&format=json", 400],
        ["?format[]=json", 200, "text/html; charset=utf-8"], // another key: Accept decides
        ["?FORMAT=json", 200, "text/html; charset=utf-8"],
        ["?=json&format=html", 200, "text/html; charset=utf-8"],
        ["?format=json&&&&", 200, "application/json"],
        ["?format=1", 400],
        ["?format=true", 400],
        ["?format=null", 400],
        ["?format=undefined", 400],
        ["?format=%7B%7D", 400],
        ["?format=[object%20Object]", 400],
        ["?format=json;html", 400],
        ["?format=json,html", 400],
        ["?format=json%00", 400],
        ["?format=%00", 400],
        ["?format=html%0D%0ASet-Cookie:%20a=b", 400],
        ["?format=%E0%A4%A", 400],
        ["?format=%C0%AF", 400],
        ["?format=%F0%9F%98%80", 400],
        ["?format=%3Cscript%3E", 400],
        [`?format=${"x".repeat(10_000)}`, 400],
        [`?${"a=1&".repeat(1000)}format=json`, 200, "application/json"],
        ["?format=OpenMetrics", 200, "application/openmetrics-text; version=1.0.0; charset=utf-8"],
        ["?format=%20prometheus%20", 200, "text/plain; version=0.0.4; charset=utf-8"],
        ["?format=prometheus&format=json", 200, "text/plain; version=0.0.4; charset=utf-8"],
        ["?format=open%00metrics", 400],
        ["?format=metrics", 400],
      ];
      for (const [query, status, type] of cases) {
        const response = await get(query);
        assert.equal(response.status, status, query.slice(0, 80));
        if (type) assert.equal(response.headers.get("content-type"), type, query.slice(0, 80));
        await assertFormatAnswer(query, response);
      }
    });

    it("an unknown subset is a 404 before a bad ?format= is a 400", async () => {
      const response = await adapter.serve(config, "/healthcheck/nope?format=yaml");
      assert.equal(response.status, 404);
      assert.equal(await response.text(), `${unknownSubset("nope")}\n`);
    });

    it("random ?format= values: 200 for json/html in any case and padding, otherwise the documented 400 (fast-check)", async () => {
      const values = fc.oneof(
        fc.string({ unit: "binary", maxLength: 60 }).filter(isWellFormed),
        fc.constantFrom("json", "html", " JSON", "Html\t", "json\u00a0", "jsón", "ＪＳＯＮ"),
      );
      await fc.assert(
        fc.asyncProperty(values, async (value) => {
          const query = `?format=${encodeURIComponent(value)}`;
          await assertFormatAnswer(query, await get(query));
        }),
        { numRuns: 120 },
      );
    });
  });
}

describe("node:http: raw request targets fetch would have normalized", () => {
  let server: Awaited<ReturnType<typeof listenLocally>>;
  let port: number;
  before(async () => {
    server = await listenLocally(createNodeHandler(config));
    port = server.port;
  });
  after(() => server.close());

  const raw = (target: string) => rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: app.test\r\nAccept: application/json`);

  it("dot segments, backslashes and absolute forms resolve as URL does: the subset named, or a 404", async () => {
    const cases: [string, Expected][] = [
      ["/healthcheck/admin/../readiness", { subset: "readiness" }],
      ["/healthcheck/readiness/..", "outside"],
      ["/healthcheck/readiness/%2e%2e", "outside"],
      ["/healthcheck/%2e%2e/%2e%2e/etc/passwd", "outside"],
      ["/healthcheck/..%2fadmin", { unknown: "../admin" }],
      ["/healthcheck/readiness\\..\\admin", { subset: "admin" }],
      ["/healthcheck/./readiness/.", { subset: "readiness" }],
      ["http://evil.test/healthcheck/readiness", { subset: "readiness" }],
      // Origin-form (RFC 9112): an empty first segment, not a host, as a Fetch bridge reads it.
      ["//evil.test/healthcheck/readiness", "outside"],
      ["//evil.test/healthcheck/liveness", "outside"],
      ["/healthcheck/readiness#frag", { subset: "readiness" }],
      ["//healthcheck/admin", "outside"],
      ["*", "outside"],
      ["/healthcheck/readiness?format=json&format=html", { subset: "readiness" }],
    ];
    for (const [target, expected] of cases) {
      const response = await raw(target);
      const context = `${target} -> ${response.status} ${response.body.slice(0, 200)}`;
      assert.equal(response.headers["cache-control"], NO_STORE, context);
      if (expected === "outside") {
        assert.equal(response.status, 404, context);
        assert.equal(response.body, "not found\n", context);
      } else if (expected !== "liveness" && "subset" in expected) {
        assert.equal(response.status, STATUS[expected.subset], context);
        assert.deepEqual(Object.keys(JSON.parse(response.body).checks), SUBSETS[expected.subset], context);
      } else if (expected !== "liveness") {
        assert.equal(response.status, 404, context);
        assert.deepEqual(JSON.parse(response.body), { status: "fail", output: unknownSubset(expected.unknown) }, context);
      }
    }
  });

  it("raw NUL, CR, DEL and non-ASCII bytes in the target: Node itself answers 400, and keeps serving", async () => {
    for (const target of ["/healthcheck/a\u0000b", "/healthcheck/a\rb", "/healthcheck/a\u007fb", "/healthcheck/a\tb"]) {
      const response = await raw(target);
      assert.equal(response.status, 400, JSON.stringify(target));
    }
    const utf8 = await rawRequest(port, Buffer.concat([Buffer.from("GET /healthcheck/r"), Buffer.from("é", "utf8"), Buffer.from("adiness HTTP/1.1\r\nHost: x")]));
    assert.equal(utf8.status, 400);
    const after = await raw("/healthcheck/readiness");
    assert.equal(after.status, 200);
  });
});

describe("createHealthRoute: the [subset] param, which Next has already decoded", () => {
  const { GET, HEAD } = createHealthRoute(config);
  const request = (path = "/healthcheck/readiness") => new Request(`http://app.test${path}`, { headers: { accept: "application/json" } });
  const params = (value: unknown) => ({ params: Promise.resolve({ subset: value } as Record<string, string>) });

  it("a hostile param is taken literally: 404 naming it, never another subset, whatever the URL says", async () => {
    const hostile = [
      "__proto__", "constructor", "prototype", "hasOwnProperty", "admin/../readiness", "../admin", "readiness/", "readiness\u0000", "\u0000",
      "readiness\r\nSet-Cookie: a=b", "%2e%2e", "read%69ness", "%E0%A4%A", "READINESS", " readiness", "😀", "\ud800", "", "x".repeat(10_000),
      '<script>alert(1)</script>',
    ];
    for (const value of hostile) {
      const response = await GET(request(), params(value));
      await assertAnswer(response, { unknown: value }, "json", `param ${JSON.stringify(value.slice(0, 40))}`);
      const head = await HEAD(new Request("http://app.test/healthcheck/readiness", { method: "HEAD" }), params(value));
      assert.equal(head.status, 404);
      assert.equal(await head.text(), "");
    }
    await assertAnswer(await GET(request("/healthcheck/readiness"), params("admin")), { subset: "admin" }, "json", "param admin");
    await assertAnswer(await GET(request("/healthcheck/admin"), params("readiness")), { subset: "readiness" }, "json", "param readiness");
  });

  it("an inherited, array or missing param falls back to the path; it is never read from the prototype", async () => {
    const inherited = Object.create({ subset: "admin" }) as Record<string, string>;
    await assertAnswer(await GET(request(), { params: Promise.resolve(inherited) }), { subset: "readiness" }, "json", "inherited");
    await assertAnswer(await GET(request(), params(["admin"])), { subset: "readiness" }, "json", "array");
    await assertAnswer(await GET(request(), params(42)), { subset: "readiness" }, "json", "number");
    await assertAnswer(await GET(request(), { params: Promise.resolve(Object.create(null)) }), { subset: "readiness" }, "json", "null prototype");
    await assertAnswer(await GET(request("/healthcheck/__proto__"), {}), { unknown: "__proto__" }, "json", "no params");
  });

  it("a subset key on a polluted Object.prototype is no subset", async () => {
    const prototype = Object.prototype as Record<string, unknown>;
    prototype.polluted = [passing("polluted-check")];
    try {
      await assertAnswer(await GET(request("/healthcheck/polluted"), params("polluted")), { unknown: "polluted" }, "json", "param");
      await assertAnswer(await GET(request("/healthcheck/polluted")), { unknown: "polluted" }, "json", "path");
      for (const adapter of ADAPTERS) {
        await assertAnswer(await adapter.serve(config, "/healthcheck/polluted", { headers: HEADERS.json }), { unknown: "polluted" }, "json", adapter.name);
      }
    } finally {
      delete prototype.polluted;
    }
  });

  it("a `subset` option on a polluted Object.prototype does not override the path", async () => {
    // Options are read with a plain property access: an inherited `subset` would serve that subset for every path.
    const prototype = Object.prototype as Record<string, unknown>;
    prototype.subset = "admin";
    try {
      await assertAnswer(await GET(request("/healthcheck/readiness"), { params: Promise.resolve({}) }), { subset: "readiness" }, "json", "createHealthRoute, no param");
      await assertAnswer(await GET(request("/healthcheck/readiness")), { subset: "readiness" }, "json", "createHealthRoute, no context");
      for (const adapter of ADAPTERS) {
        await assertAnswer(await adapter.serve(config, "/healthcheck/readiness", { headers: HEADERS.json }), { subset: "readiness" }, "json", adapter.name);
      }
    } finally {
      delete prototype.subset;
    }
  });
});

function isWellFormed(text: string): boolean {
  try {
    encodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}
