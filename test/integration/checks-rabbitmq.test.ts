/**
 * rabbitmq against a real RabbitMQ node: healthy, and broken in the ways a
 * deploy breaks it (stopped, black-holed, wrong password, unknown or forbidden
 * vhost, restarted, no URL), with safe public messages and no connection or
 * socket left open afterwards.
 */
import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { after, before, describe, it } from "node:test";
import { defineHealthConfig, handleHealthRequest } from "../../src/index.ts";
import { rabbitmq } from "../../src/checks/rabbitmq.ts";
import { blackHole, freePort } from "../helpers/net.ts";
import { LOCKED_VHOST, RABBITMQ_PASSWORD, RABBITMQ_USER, startRabbitmq, type RabbitmqServer } from "../helpers/rabbitmq.ts";
import { runCheckOnce } from "../helpers/checks.ts";

let server: RabbitmqServer;

before(async () => {
  server = await startRabbitmq();
});
after(() => server?.destroy());

const run = runCheckOnce;

/** Connections the broker holds that the check opened (it names them "probekit"). */
async function checkConnections(): Promise<number> {
  const rows = JSON.parse((await server.ctl("list_connections", "--quiet", "--formatter", "json", "client_properties")) || "[]") as {
    client_properties: [string, string, unknown][];
  }[];
  return rows.filter((row) => row.client_properties.some(([key, , value]) => key === "connection_name" && value === "probekit")).length;
}

/** The broker drops a closed connection from its list a moment after the close handshake. */
async function settledCheckConnections(): Promise<number> {
  let count = await checkConnections();
  for (let attempt = 0; count > 0 && attempt < 20; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    count = await checkConnections();
  }
  return count;
}

/** Open TCP sockets of this process (client sockets included), as Node counts them. */
function openSockets(): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === "TCPSocketWrap").length;
}

async function eventually(condition: () => boolean, ms = 1000): Promise<boolean> {
  for (const deadline = Date.now() + ms; !condition(); ) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

describe("rabbitmq: healthy", () => {
  it("passes: connects, opens a channel, closes both", async (t) => {
    t.diagnostic(`rabbitmq-server started in ${server.startupMs} ms`);
    const result = await run(rabbitmq({ url: server.url() }));
    assert.equal(result.status, "pass", result.detail);
    assert.equal(result.name, "rabbitmq");
    assert.equal(result.componentType, "component");
    assert.equal(result.critical, true);
  });

  it("takes its common options: name, critical, timeoutMs", async () => {
    const check = rabbitmq({ url: server.url(), name: "events-broker", critical: false, timeoutMs: 1500 });
    assert.equal(check.timeoutMs, 1500);
    const result = await run(check);
    assert.equal(result.status, "pass", result.detail);
    assert.equal(result.name, "events-broker");
    assert.equal(result.critical, false);
  });

  it("accepts the Celery/kombu spelling of the default vhost (a trailing '//') and its escaped form", async () => {
    // server.url() spells the default vhost "/%2F".
    for (const url of [server.url().replace(/%2F$/, "/"), server.url()]) {
      const result = await run(rabbitmq({ url }));
      assert.equal(result.status, "pass", `${url}: ${result.detail}`);
    }
  });

  it("an unset RABBITMQ_URL is a clear failure at run time, not a crash at definition", async () => {
    for (const url of ["", undefined]) {
      const result = await run(rabbitmq({ url }));
      assert.equal(result.output, "unavailable: no RabbitMQ URL configured");
    }
  });
});

describe("rabbitmq: faults, with safe public messages", () => {
  it("wrong password: 'authentication failed', and the public body names neither user, password, host nor port", async () => {
    const badUrl = server.url({ password: "wrong-password" });
    const result = await run(rabbitmq({ url: badUrl }));
    assert.equal(result.output, "unavailable: authentication failed");
    assert.match(result.detail, /ACCESS-REFUSED/, "the raw error stays in the detail");

    const config = defineHealthConfig({ subsets: { readiness: [rabbitmq({ url: badUrl })] }, logger: false });
    const response = await handleHealthRequest(new Request("http://app.test/healthcheck/readiness?format=json"), config);
    assert.equal(response.status, 500);
    const body = await response.text();
    assert.match(body, /authentication failed/);
    for (const secret of [RABBITMQ_USER, RABBITMQ_PASSWORD, "wrong-password", "127.0.0.1", String(server.port), "amqp://"]) {
      assert.ok(!body.includes(secret), `public body leaks ${secret}: ${body}`);
    }
  });

  it("unknown user: 'authentication failed' too (RabbitMQ does not say which)", async () => {
    const result = await run(rabbitmq({ url: server.url({ user: "nobody" }) }));
    assert.equal(result.output, "unavailable: authentication failed");
  });

  it("unknown vhost, or one the user may not use: 'vhost not found or access denied'", async () => {
    for (const vhost of ["no-such-vhost", LOCKED_VHOST]) {
      const result = await run(rabbitmq({ url: server.url({ vhost }) }));
      assert.equal(result.output, "unavailable: vhost not found or access denied", vhost);
    }
  });

  it("server not listening: 'connection refused'", async () => {
    const port = await freePort();
    const result = await run(rabbitmq({ url: `amqp://${RABBITMQ_USER}:${RABBITMQ_PASSWORD}@127.0.0.1:${port}/` }));
    assert.equal(result.output, "unavailable: connection refused");
  });

  it("a listener that accepts and never answers: fails within the timeout and closes its socket", async () => {
    const hole = await blackHole();
    try {
      const check = rabbitmq({ url: `amqp://${RABBITMQ_USER}:${RABBITMQ_PASSWORD}@127.0.0.1:${hole.port}/` });
      for (let attempt = 0; attempt < 2; attempt++) {
        const started = performance.now();
        const result = await run(check, 600);
        const took = performance.now() - started;
        assert.equal(result.status, "fail");
        assert.equal(result.output, "unavailable: connection timed out");
        assert.ok(took < 600 + 400, `attempt ${attempt} took ${took} ms`);
        assert.ok(await eventually(() => hole.open() === 0), `attempt ${attempt} left ${hole.open()} socket(s) open`);
      }
    } finally {
      hole.close();
    }
  });

  it("an abort of the check's signal tears the socket down at once", async () => {
    const hole = await blackHole();
    try {
      const check = rabbitmq({ url: `amqp://${RABBITMQ_USER}:${RABBITMQ_PASSWORD}@127.0.0.1:${hole.port}/` });
      // A long timeout, so amqplib's own connect timeout (80 % of it) cannot be what ends the socket.
      const signal = AbortSignal.timeout(300);
      const started = performance.now();
      const error = await Promise.resolve(check.check({ signal, timeoutMs: 30_000 })).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      const took = performance.now() - started;
      assert.ok(took < 300 + 300, `the check settled ${took} ms after it started`);
      // The runner reports its own timeout: the check lets the abort through instead of naming it.
      assert.equal((error as Error | undefined)?.name, "AbortError");
      assert.ok(await eventually(() => hole.open() === 0), `${hole.open()} socket(s) left open after the abort`);
    } finally {
      hole.close();
    }
  });

  it("not an AMQP server (an HTTP server on the port): 'not an AMQP server'", async () => {
    const web = createHttpServer((_, response) => response.end("hello"));
    await new Promise<void>((resolve) => web.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = web.address() as { port: number };
      const result = await run(rabbitmq({ url: `amqp://${RABBITMQ_USER}:${RABBITMQ_PASSWORD}@127.0.0.1:${port}/` }));
      assert.equal(result.output, "unavailable: not an AMQP server");
    } finally {
      web.closeAllConnections();
      web.close();
    }
  });

  it("a URL that is not amqp:// or amqps:// names the mistake without echoing the URL", async () => {
    const result = await run(rabbitmq({ url: `http://${RABBITMQ_USER}:${RABBITMQ_PASSWORD}@127.0.0.1:${server.port}/` }));
    assert.equal(result.output, "unavailable: invalid RabbitMQ URL (expected amqp:// or amqps://)");
  });

  it("passes again after the server restarts", async (t) => {
    const check = rabbitmq({ url: server.url() });
    assert.equal((await run(check)).status, "pass");
    await server.stop();
    try {
      const down = await run(check, 1000);
      assert.equal(down.output, "unavailable: connection refused");
    } finally {
      await server.start();
    }
    t.diagnostic(`rabbitmq-server restarted in ${server.startupMs} ms`);
    const back = await run(check);
    assert.equal(back.status, "pass", back.detail);
  });
});

describe("rabbitmq: no leaks", () => {
  it("leaves no connection on the broker and no socket in the process, after passes and failures alike", async () => {
    const socketsBefore = openSockets();
    const good = rabbitmq({ url: server.url() });
    const checks = [good, rabbitmq({ url: server.url({ password: "wrong-password" }) }), rabbitmq({ url: server.url({ vhost: LOCKED_VHOST }) })];
    assert.equal(await checkConnections(), 0, "defining checks connects nothing");

    // Separate configs, so the runs really are concurrent instead of sharing one in-flight run.
    const results = await Promise.all(Array.from({ length: 10 }, () => checks.map((check) => run(check))).flat());
    assert.deepEqual(
      results.map((result) => result.status),
      Array.from({ length: 10 }, () => ["pass", "fail", "fail"]).flat(),
    );
    assert.equal(await settledCheckConnections(), 0, "the broker still lists connections named probekit");
    assert.ok(await eventually(() => openSockets() <= socketsBefore), `${openSockets() - socketsBefore} socket(s) left open in the process`);
  });
});
