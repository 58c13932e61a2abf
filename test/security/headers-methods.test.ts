/**
 * Hostile request heads: every method that is not GET or HEAD (405 with Allow,
 * or Node's own 400 where its parser refuses the method), huge header counts and
 * sizes (node:http's 16 KB limit answers 431 itself, and the server keeps
 * serving), and duplicate Authorization headers, which must never unlock detail
 * in one adapter and not in the other.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { answerHealthRequest, defineCheck, NO_STORE } from "../../src/index.ts";
import { createHealthRoute } from "../../src/next/index.ts";
import { createNodeHandler } from "../../src/node/index.ts";
import { ADAPTERS, fetchAdapter } from "../helpers/adapters.ts";
import { passing, quietConfig } from "../helpers/checks.ts";
import { recordProcessFaults } from "../helpers/process-faults.ts";
import { listenLocally, rawRequest, type RawResponse } from "../helpers/raw-http.ts";

const faults = recordProcessFaults();

const SECRET = "SECRET-DETAIL-7f3a9c";
const TOKEN = "right-token-4d1e8b";
const config = quietConfig({
  subsets: {
    readiness: [passing("db")],
    leaky: [defineCheck({ name: "db", check: () => { throw new Error(`${SECRET} at 10.9.8.7:5432`); } })],
  },
  cacheTtlMs: 0,
  token: TOKEN,
});

const METHOD_NOT_ALLOWED = "method not allowed: use GET or HEAD\n";

let server: Awaited<ReturnType<typeof listenLocally>>;
let port: number;
before(async () => {
  server = await listenLocally(createNodeHandler(config));
  port = server.port;
});
after(async () => {
  server.close();
  for (const adapter of ADAPTERS) await adapter.close();
  await faults.assertNoneAfter(200);
});

/** A raw request to the node:http server, with the headers given line by line. */
function raw(requestLine: string, headerLines: string[] = []): Promise<RawResponse> {
  return rawRequest(port, [requestLine, "Host: app.test", ...headerLines].join("\r\n"));
}

async function assertServing(): Promise<void> {
  const response = await raw("GET /healthcheck/readiness?format=json HTTP/1.1");
  assert.equal(response.status, 200, "the server keeps serving");
  assert.equal(JSON.parse(response.body).status, "pass");
}

function assert405(status: number | undefined, headers: { get(name: string): string | null }, body: string, what: string): void {
  assert.equal(status, 405, what);
  assert.equal(headers.get("allow"), "GET, HEAD", what);
  assert.equal(headers.get("content-type"), "text/plain; charset=utf-8", what);
  assert.equal(headers.get("cache-control"), NO_STORE, what);
  assert.equal(body, METHOD_NOT_ALLOWED, what);
}

const rawHeaders = (response: RawResponse) => ({ get: (name: string) => response.headers[name] ?? null });

describe("methods other than GET and HEAD", () => {
  for (const adapter of ADAPTERS) {
    it(`${adapter.name}: 405 with Allow, before the subset or the format is looked at`, async () => {
      for (const method of ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND", "PURGE", "MKCOL", "SEARCH", "LINK"]) {
        for (const path of ["/healthcheck/readiness", "/healthcheck/nope?format=yaml", "/healthcheck/leaky"]) {
          const response = await adapter.serve(config, path, { method, body: method === "POST" || method === "PUT" ? "x".repeat(1000) : undefined });
          assert405(response.status, response.headers, await response.text(), `${method} ${path}`);
        }
      }
    });
  }

  it("handleHealthRequest: lowercase and custom tokens are 405 (fetch keeps their case except for the six standard methods)", async () => {
    for (const method of ["patch", "FOO", "x-custom", "M-SEARCH", "Get-Status"]) {
      assert.equal(new Request("http://app.test/", { method }).method, method, "fetch keeps the case of a non-standard method");
      const response = await fetchAdapter.serve(config, "/healthcheck/readiness", { method });
      assert405(response.status, response.headers, await response.text(), method);
    }
    // The Fetch standard itself forbids these: no Request can carry them to the handler.
    for (const method of ["TRACE", "CONNECT", "TRACK", "trace"]) {
      assert.throws(() => new Request("http://app.test/healthcheck/readiness", { method }), TypeError, method);
    }
  });

  it("answerHealthRequest (for custom adapters): TRACE, CONNECT, TRACK, empty and padded methods are 405", async () => {
    for (const method of ["TRACE", "CONNECT", "TRACK", "", " GET", "GET ", "G E T", "GET\u0000", "HEAD\r\n", "ＧＥＴ", "post"]) {
      const answer = await answerHealthRequest({ method, pathname: "/healthcheck/readiness", format: null, accept: null, authorization: null }, config);
      const headers = new Headers(answer.headers);
      assert405(answer.status, headers, answer.body ?? "", JSON.stringify(method));
    }
  });

  it("answerHealthRequest takes the method in any case, as documented ('The request method, any case')", async () => {
    // RFC 9110 §9.1 makes methods case-sensitive, but neither front door lets a lowercase `get` through as such:
    // fetch normalizes it to GET, node:http refuses it with 400 (below).
    for (const method of ["get", "Get", "head"]) {
      const answer = await answerHealthRequest({ method, pathname: "/healthcheck/readiness", format: "json", accept: null, authorization: null }, config);
      assert.equal(answer.status, 200, method);
    }
    assert.equal(new Request("http://app.test/", { method: "get" }).method, "GET");
  });

  it("node:http on the wire: TRACE and extension methods 405; lowercase and unknown tokens are Node's own 400; CONNECT closes the socket", async () => {
    for (const method of ["TRACE", "PURGE", "PROPFIND", "MKCOL", "OPTIONS", "DELETE"]) {
      const response = await raw(`${method} /healthcheck/readiness HTTP/1.1`);
      assert405(response.status, rawHeaders(response), response.body, method);
    }
    for (const method of ["get", "head", "patch", "FOO", "GETS", "X-CUSTOM"]) {
      const response = await raw(`${method} /healthcheck/readiness HTTP/1.1`);
      assert.equal(response.status, 400, `${method}: Node's parser refuses it before probekit sees it`);
    }
    // No 'connect' listener: Node closes the connection without an answer.
    const connect = await raw("CONNECT 127.0.0.1:1 HTTP/1.1");
    assert.equal(connect.status, undefined);
    const connectToHealth = await raw("CONNECT /healthcheck/readiness HTTP/1.1");
    assert.equal(connectToHealth.status, undefined);
    await assertServing();
  });

  it("createHealthRoute: a handler reached with another method still answers 405", async () => {
    const { GET, HEAD } = createHealthRoute(config);
    for (const method of ["POST", "DELETE", "OPTIONS", "patch", "FOO"]) {
      for (const handler of [GET, HEAD]) {
        const response = await handler(new Request("http://app.test/healthcheck/readiness", { method }), { params: Promise.resolve({ subset: "readiness" }) });
        assert405(response.status, response.headers, await response.text(), method);
      }
    }
  });
});

describe("huge header counts and sizes", () => {
  const junk = (count: number, valueLength: number) => Array.from({ length: count }, (_, index) => `X-Junk-${index}: ${"v".repeat(valueLength)}`);

  it("handleHealthRequest: 500 headers, and an 8 KB one, change nothing", async () => {
    const headers = new Headers(junk(500, 40).map((line) => line.split(": ") as [string, string]));
    headers.set("accept", "application/json");
    headers.set("x-big", "b".repeat(8192));
    const response = await fetchAdapter.serve(config, "/healthcheck/readiness", { headers });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
  });

  it("node:http: 500 small headers (≈7 KB) are served, and an Accept after them is honoured", async () => {
    const response = await raw("GET /healthcheck/readiness HTTP/1.1", [...junk(500, 1), "Accept: application/json"]);
    assert.equal(response.status, 200);
    assert.equal(response.headers["content-type"], "application/json");
    assert.equal(JSON.parse(response.body).status, "pass");
  });

  it("node:http: 500 headers over its 16 KB limit: Node answers 431 itself and closes, then keeps serving", async () => {
    const lines = junk(500, 40);
    assert.ok(lines.join("\r\n").length > 16 * 1024);
    const response = await raw("GET /healthcheck/readiness HTTP/1.1", lines);
    assert.equal(response.status, 431);
    assert.equal(response.headers.connection, "close");
    assert.equal(response.body, "");
    // The same through fetch, with the Authorization that would unlock detail: still nothing leaks.
    const nodeAdapter = ADAPTERS.find((adapter) => adapter !== fetchAdapter)!;
    const viaFetch = await nodeAdapter.serve(config, "/healthcheck/leaky", {
      headers: { ...Object.fromEntries(lines.map((line) => line.split(": ") as [string, string])), authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(viaFetch.status, 431);
    assert.ok(!(await viaFetch.text()).includes(SECRET));
    await assertServing();
  });

  it("node:http: one 20 KB header is a 431 too; an 8 KB Accept is served as */*", async () => {
    assert.equal((await raw("GET /healthcheck/readiness HTTP/1.1", [`X-Big: ${"b".repeat(20 * 1024)}`])).status, 431);
    const big = await raw("GET /healthcheck/readiness HTTP/1.1", [`Accept: ${"a/b;q=0.5,".repeat(820)}`]);
    assert.equal(big.status, 200);
    assert.equal(big.headers["content-type"], "text/html; charset=utf-8");
    await assertServing();
  });

  it("node:http: past its maxHeadersCount (2000) Node drops the rest: an Accept after 2,100 headers is not seen (HTML)", async () => {
    const response = await raw("GET /healthcheck/readiness HTTP/1.1", [...Array.from({ length: 2100 }, () => "a:"), "Accept: application/json"]);
    assert.equal(response.status, 200);
    assert.equal(response.headers["content-type"], "text/html; charset=utf-8");
    await assertServing();
  });
});

describe("duplicate Authorization headers", () => {
  /** Does the body show the raw detail? Both adapters, the Authorization headers sent as separate lines. */
  async function unlocks(values: string[]): Promise<Record<string, boolean>> {
    const headers = new Headers({ accept: "application/json" });
    for (const value of values) headers.append("authorization", value);
    const viaFetch = await fetchAdapter.serve(config, "/healthcheck/leaky", { headers });
    assert.equal(viaFetch.status, 500);
    const viaNode = await raw("GET /healthcheck/leaky HTTP/1.1", ["Accept: application/json", ...values.map((value) => `Authorization: ${value}`)]);
    assert.equal(viaNode.status, 500);
    return { fetch: (await viaFetch.text()).includes(SECRET), node: viaNode.body.includes(SECRET) };
  }

  it("one right header unlocks detail in both adapters (the baseline)", async () => {
    assert.deepEqual(await unlocks([`Bearer ${TOKEN}`]), { fetch: true, node: true });
  });

  it("wrong tokens, repeated, unlock nothing", async () => {
    for (const values of [["Bearer wrong", "Bearer wrong"], ["Bearer a", "Bearer b", "Bearer c"], [`Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${TOKEN.slice(1)}`], ["Basic x", `Basic ${TOKEN}`]]) {
      assert.deepEqual(await unlocks(values), { fetch: false, node: false }, values.join(" | "));
    }
  });

  it("the right token beside a wrong one is ambiguous: neither adapter unlocks detail, whatever the order", async () => {
    // Authorization is a singleton field (RFC 9110 §11.6.2, §5.3): Fetch joins the two into one value no bearer
    // credential matches, while node:http keeps the first line and drops the rest.
    for (const values of [[`Bearer ${TOKEN}`, "Bearer wrong"], ["Bearer wrong", `Bearer ${TOKEN}`], [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]]) {
      assert.deepEqual(await unlocks(values), { fetch: false, node: false }, values.join(" | "));
    }
  });
});
