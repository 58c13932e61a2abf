/**
 * tlsCertificate against TLS servers on 127.0.0.1 presenting certificates made here by
 * openssl: a CA and the leaves it signs (valid 90 days, 2 days left, expired, not yet
 * valid, for another name), a self-signed one; plus refused and black-holed ports, and
 * the default port 443. And what httpEndpoint, whose fetch verifies the certificate,
 * says about the same servers.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { defineHealthConfig, handleHealthRequest, type Check } from "../../src/index.ts";
import { httpEndpoint } from "../../src/checks/http.ts";
import { tlsCertificate } from "../../src/checks/tls.ts";
import { certDate, makePki, tlsServer, type TestPki } from "../helpers/certificates.ts";
import { blackHole, freePort } from "../helpers/net.ts";
import { runCheckOnce } from "../helpers/checks.ts";

let pki: TestPki;
const servers: { port: number; close(): Promise<void> }[] = [];
const ports: Record<string, number> = {};

before(async () => {
  pki = makePki();
  const leaves = {
    valid: pki.leaf({ days: 90 }),
    soon: pki.leaf({ days: 2 }),
    expired: pki.leaf({ start: certDate(-30), end: certDate(-1) }),
    future: pki.leaf({ start: certDate(5), end: certDate(60) }),
    other: pki.leaf({ names: ["DNS:other.test"] }),
    self: pki.selfSigned(),
  };
  for (const [name, leaf] of Object.entries(leaves)) {
    const server = await tlsServer(leaf);
    servers.push(server);
    ports[name] = server.port;
  }
});
after(async () => {
  for (const server of servers) await server.close();
  pki?.destroy();
});

const run = runCheckOnce;

const tls = (port: string, options: Partial<Parameters<typeof tlsCertificate>[0]> = {}) => tlsCertificate({ host: "localhost", port: ports[port]!, ca: pki.ca, ...options });

/** The public JSON body of a readiness probe made of `check` alone. */
async function publicBody(check: Check): Promise<string> {
  const config = defineHealthConfig({ subsets: { readiness: [check] }, logger: false });
  return (await handleHealthRequest(new Request("http://app.test/healthcheck/readiness?format=json"), config)).text();
}

describe("tlsCertificate", () => {
  it("a valid certificate from the given CA passes, with the days left as observedValue", async () => {
    const result = await run(tls("valid"));
    assert.equal(result.status, "pass", result.detail);
    assert.equal(result.name, "tls");
    assert.equal(result.observedUnit, "days");
    assert.ok(typeof result.observedValue === "number" && result.observedValue > 89 && result.observedValue <= 90, String(result.observedValue));
    assert.equal(result.output, "expires in 89 days");
  });

  it("the name is checked against an IP address too (no SNI sent for it)", async () => {
    assert.equal((await run(tlsCertificate({ host: "127.0.0.1", port: ports.valid!, ca: pki.ca }))).status, "pass");
  });

  it("within warnDays of the end: a warning (fails while warningsAsErrors, the default), days left reported", async () => {
    const result = await run(tls("soon"));
    assert.equal(result.status, "warn");
    assert.equal(result.output, "warning: certificate expires in 1 day (warn below 14)");
    assert.equal((await run(tls("soon", { warnDays: 1 }))).status, "pass");
  });

  it("expired, not yet valid, another name, self-signed: each named", async () => {
    assert.equal((await run(tls("expired"))).output, "unavailable: certificate expired");
    assert.equal((await run(tls("future"))).output, "unavailable: certificate not yet valid");
    assert.equal((await run(tls("other"))).output, "unavailable: certificate does not match the name");
    assert.equal((await run(tls("valid", { servername: "other.test" }))).output, "unavailable: certificate does not match the name");
    assert.equal((await run(tls("self"))).output, "unavailable: certificate is self-signed");
  });

  it("without ca the system's CAs are used: a certificate from the test CA is not trusted", async () => {
    const result = await run(tlsCertificate({ host: "localhost", port: ports.valid! }));
    assert.equal(result.output, "unavailable: certificate chain not trusted");
  });

  it("refused and black-holed ports fail within the timeout; the public body names neither host nor port", async () => {
    const refusedPort = await freePort();
    const refused = tlsCertificate({ host: "localhost", port: refusedPort, ca: pki.ca });
    assert.equal((await run(refused)).output, "unavailable: connection refused");
    const config = defineHealthConfig({ subsets: { readiness: [refused] }, logger: false });
    const body = await (await handleHealthRequest(new Request("http://app.test/healthcheck/readiness?format=json"), config)).text();
    for (const secret of ["localhost", String(refusedPort), "127.0.0.1"]) assert.ok(!body.includes(secret), `public body leaks ${secret}: ${body}`);

    const hole = await blackHole();
    try {
      const started = performance.now();
      const result = await run(tlsCertificate({ host: "127.0.0.1", port: hole.port }), 500);
      assert.match(result.output, /^unavailable: (connection timed out|timed out after 500 ms)$/);
      assert.ok(performance.now() - started < 900);
      for (let waited = 0; waited < 2000 && hole.open() > 0; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(hole.open(), 0, "the socket is destroyed");
    } finally {
      hole.close();
    }
  });

  it("rejects bad options when defined", () => {
    assert.throws(() => tlsCertificate({ host: "" }), /host must be a non-empty string/);
    assert.throws(() => tlsCertificate({ host: "x", port: 0 }), /port must be 1–65535/);
    assert.throws(() => tlsCertificate({ host: "x", warnDays: -1 }), /warnDays must be >= 0/);
  });
});

describe("tlsCertificate: a rejected certificate in the public body", () => {
  it("self-signed, untrusted, another name, expired: the check's own name for it, and neither host, port, CA nor Node's text", async () => {
    for (const [check, output] of [
      [tls("self"), "unavailable: certificate is self-signed"],
      [tlsCertificate({ host: "localhost", port: ports.valid! }), "unavailable: certificate chain not trusted"],
      [tls("other"), "unavailable: certificate does not match the name"],
      [tls("expired"), "unavailable: certificate expired"],
    ] as const) {
      const body = await publicBody(check);
      assert.equal(JSON.parse(body).checks.tls[0].output, output);
      for (const secret of ["localhost", "127.0.0.1", "other.test", String(ports.self), String(ports.valid), String(ports.other), String(ports.expired), "probekit test CA", "self-signed certificate", "unable to", "has expired", "altnames", "verification failed", "DEPTH_ZERO", "UNABLE_TO", "ALTNAME", "CERT_HAS_EXPIRED"]) {
        assert.ok(!body.includes(secret), `public body leaks ${secret}: ${body}`);
      }
    }
  });
});

describe("tlsCertificate: the default port is 443", () => {
  it("{ host } alone connects to port 443, sending the host as SNI", async () => {
    let server: Awaited<ReturnType<typeof tlsServer>>;
    try {
      server = await tlsServer(pki.leaf({ days: 90 }), undefined, 443);
    } catch (error) {
      const code = (error as { code?: string }).code;
      const why = code === "EADDRINUSE" ? "something else listens on 127.0.0.1:443 (ss -ltnp 'sport = :443' says what)" : code === "EACCES" ? "binding port 443 needs root or CAP_NET_BIND_SERVICE" : String(error);
      assert.fail(`cannot listen on 127.0.0.1:443 to test the default port: ${why}`);
    }
    try {
      const result = await run(tlsCertificate({ host: "localhost", ca: pki.ca }));
      assert.equal(result.status, "pass", result.detail);
      assert.equal(result.output, "expires in 89 days");
      assert.deepEqual(server.servernames, ["localhost"], "one ClientHello, with the host as SNI");
    } finally {
      await server.close();
    }
  });
});

describe("httpEndpoint over HTTPS: a certificate fetch rejects reads 'TLS certificate rejected'", () => {
  it("self-signed, signed by an untrusted CA, a chain ending in an untrusted CA, an intermediate of an unknown root: the shared safe message, and neither host, port, CA nor fetch's text in the public body", async () => {
    const withChain = await tlsServer(pki.leaf({ days: 90 }), pki.ca);
    const { leaf, intermediate } = pki.chained();
    const withIntermediate = await tlsServer(leaf, intermediate);
    try {
      for (const port of [ports.self!, ports.valid!, withChain.port, withIntermediate.port]) {
        // Named: the default name, http:<host> (the url option's JSDoc), would put host and port in the public body.
        const check = httpEndpoint({ url: `https://localhost:${port}/health`, name: "payments" });
        const result = await run(check);
        assert.equal(result.output, "unavailable: TLS certificate rejected", `port ${port}: ${result.detail}`);
        assert.match(result.detail, /self-signed certificate|unable to verify the first certificate|unable to get local issuer certificate/, "fetch's reason stays in the detail");
        const body = await publicBody(check);
        assert.equal(JSON.parse(body).checks.payments[0].output, "unavailable: TLS certificate rejected");
        for (const secret of ["localhost", "127.0.0.1", String(port), "/health", "probekit test CA", "self-signed certificate", "unable to", "fetch failed", "DEPTH_ZERO", "SELF_SIGNED", "UNABLE_TO"]) {
          assert.ok(!body.includes(secret), `public body leaks ${secret}: ${body}`);
        }
      }
    } finally {
      await withChain.close();
      await withIntermediate.close();
    }
  });
});
