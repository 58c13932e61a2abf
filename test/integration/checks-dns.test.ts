/**
 * dnsResolve against a real dnsmasq (Debian's) on a loopback port: each record type,
 * expected answers present and missing, NXDOMAIN, no records of the type, REFUSED, a
 * server that never answers and one that is paused (cancelled at the timeout) — with
 * public messages that name neither the name asked for nor its answers; and a name only
 * /etc/hosts knows, which the check does not find.
 */
import assert from "node:assert/strict";
import { lookup } from "node:dns/promises";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { defineHealthConfig, handleHealthRequest } from "../../src/index.ts";
import { dnsResolve } from "../../src/checks/dns.ts";
import { silentDnsServer, startDnsmasq, type DnsServer } from "../helpers/dnsmasq.ts";
import { runCheckOnce } from "../helpers/checks.ts";

let dns: DnsServer;

before(async () => {
  dns = await startDnsmasq([
    "host-record=api.app.test,10.1.2.3,fd00::3",
    "host-record=api.app.test,10.1.2.4",
    "cname=www.app.test,api.app.test",
    "txt-record=app.test,v=spf1 -all",
    "srv-host=_http._tcp.app.test,api.app.test,8080,10,5",
  ]);
});
after(() => dns?.stop());

const run = runCheckOnce;

describe("dnsResolve: answers", () => {
  it("A (the default), AAAA, CNAME, TXT and SRV resolve, reporting the lookup time and the record count", async () => {
    for (const [type, hostname, count] of [
      [undefined, "api.app.test", 2],
      ["AAAA", "api.app.test", 1],
      ["CNAME", "www.app.test", 1],
      ["TXT", "app.test", 1],
      ["SRV", "_http._tcp.app.test", 1],
    ] as const) {
      const result = await run(dnsResolve({ hostname, type, servers: [dns.server] }));
      assert.equal(result.status, "pass", `${type}: ${result.detail}`);
      assert.equal(result.output, `${count} ${count === 1 ? "record" : "records"}`);
      assert.equal(result.observedUnit, "ms");
      assert.equal(result.name, "dns");
    }
  });

  it("expected answers: all present passes (case and trailing dots aside), one missing fails without naming any", async () => {
    assert.equal((await run(dnsResolve({ hostname: "api.app.test", servers: [dns.server], expect: ["10.1.2.4", "10.1.2.3"] }))).status, "pass");
    assert.equal((await run(dnsResolve({ hostname: "www.app.test", type: "CNAME", servers: [dns.server], expect: "API.app.test." }))).status, "pass");
    assert.equal((await run(dnsResolve({ hostname: "app.test", type: "TXT", servers: [dns.server], expect: "v=spf1 -all" }))).status, "pass");
    assert.equal((await run(dnsResolve({ hostname: "_http._tcp.app.test", type: "SRV", servers: [dns.server], expect: "api.app.test:8080" }))).status, "pass");
    assert.equal((await run(dnsResolve({ hostname: "api.app.test", type: "AAAA", servers: [dns.server], expect: "FD00::3" }))).status, "pass");

    const check = dnsResolve({ hostname: "api.app.test", servers: [dns.server], expect: ["10.1.2.3", "10.9.9.9"] });
    const result = await run(check);
    assert.equal(result.output, "unexpected result: 1 of 2 expected answers missing");
    assert.match(result.detail, /missing 10\.9\.9\.9/, "the detail says which");
    const config = defineHealthConfig({ subsets: { readiness: [check] }, logger: false });
    const body = await (await handleHealthRequest(new Request("http://app.test/healthcheck/readiness?format=json"), config)).text();
    for (const secret of ["api.app.test", "10.1.2.3", "10.9.9.9", "127.0.0.1"]) assert.ok(!body.includes(secret), `public body leaks ${secret}: ${body}`);
  });

  it("a predicate decides over the normalized answers", async () => {
    const seen: string[][] = [];
    const check = dnsResolve({ hostname: "api.app.test", servers: [dns.server], expect: (answers) => (seen.push(answers), answers.every((a) => a.startsWith("10.1."))) });
    assert.equal((await run(check)).status, "pass");
    assert.deepEqual(seen[0]!.sort(), ["10.1.2.3", "10.1.2.4"]);
    assert.equal((await run(dnsResolve({ hostname: "api.app.test", servers: [dns.server], expect: () => false }))).output, "unexpected result: the answers are not the expected ones");
  });

  it("rejects bad options when defined", () => {
    assert.throws(() => dnsResolve({ hostname: "" }), /hostname must be a non-empty string/);
    assert.throws(() => dnsResolve({ hostname: "x", type: "MX" as never }), /type must be one of/);
    assert.throws(() => dnsResolve({ hostname: "x", servers: ["not an address"] }));
  });
});

describe("dnsResolve: faults, with safe public messages", () => {
  it("NXDOMAIN: 'name not found'; no records of the type; REFUSED", async () => {
    const missing = await run(dnsResolve({ hostname: "missing.app.test", servers: [dns.server] }));
    assert.equal(missing.output, "unavailable: name not found");
    assert.doesNotMatch(missing.output, /missing\.app\.test/);
    assert.equal((await run(dnsResolve({ hostname: "api.app.test", type: "TXT", servers: [dns.server] }))).output, "unavailable: no records of that type");
    assert.equal((await run(dnsResolve({ hostname: "example.com", servers: [dns.server] }))).output, "unavailable: the DNS server refused the query");
  });

  it("a server that never answers: 'DNS query timed out' (its own timeout, below the check's)", async () => {
    const silent = await silentDnsServer();
    try {
      const started = performance.now();
      const result = await run(dnsResolve({ hostname: "api.app.test", servers: [silent.server] }), 600);
      assert.match(result.output, /^unavailable: (DNS query timed out|timed out after 600 ms)$/);
      assert.ok(performance.now() - started < 1000);
    } finally {
      silent.close();
    }
  });

  it("a paused server: fails within the timeout, and the next run after it resumes passes", async () => {
    dns.pause();
    let result;
    try {
      const started = performance.now();
      result = await run(dnsResolve({ hostname: "api.app.test", servers: [dns.server] }), 500);
      assert.ok(performance.now() - started < 900);
    } finally {
      dns.resume();
    }
    assert.match(result.output, /^unavailable: (DNS query timed out|timed out after 500 ms)$/);
    assert.equal((await run(dnsResolve({ hostname: "api.app.test", servers: [dns.server] }))).status, "pass");
  });
});

describe("dnsResolve is DNS, not getaddrinfo", () => {
  it("/etc/hosts is not read: localhost, which getaddrinfo finds there, is 'name not found' from a DNS server that has no record of it", async () => {
    const hostsFile = readFileSync("/etc/hosts", "utf8");
    assert.match(hostsFile, /^\s*127\.0\.0\.1\s+(\S+\s+)*localhost(\s|$)/m, "the test needs /etc/hosts to map localhost to 127.0.0.1");
    assert.equal((await lookup("localhost", { family: 4 })).address, "127.0.0.1", "getaddrinfo reads /etc/hosts");
    // Started with --no-hosts; local=/localhost/ makes it answer NXDOMAIN for the name (rather than REFUSED, as for names outside its zones).
    const server = await startDnsmasq(["host-record=api.app.test,10.1.2.3", "local=/localhost/"]);
    try {
      const served = await run(dnsResolve({ hostname: "api.app.test", servers: [server.server], expect: "10.1.2.3" }));
      assert.equal(served.status, "pass", `the server answers the names it serves: ${served.detail}`);
      const hostsOnly = await run(dnsResolve({ hostname: "localhost", servers: [server.server] }));
      assert.equal(hostsOnly.status, "fail");
      assert.equal(hostsOnly.output, "unavailable: name not found");
    } finally {
      await server.stop();
    }
  });
});
