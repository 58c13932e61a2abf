/**
 * natsPing against a real nats-server (Debian's `nats-server`, with a password):
 * healthy with @nats-io/transport-node (v3) and with nats (v2) `connect`, and with the
 * app's connection of either; its own connection named `probekit` on the wire; a cluster
 * with a black-holed member passing at once; wrong password, refused, black-holed, paused
 * mid-run (the process still exits), restarted — with safe public messages.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as natsV3 from "@nats-io/transport-node";
import * as natsV2 from "nats";
import { defineHealthConfig, handleHealthRequest, runHealthChecks } from "../../src/index.ts";
import { natsPing, type NatsConnect } from "../../src/checks/nats.ts";
import { runScript } from "../helpers/child-process.ts";
import { blackHole, freePort, tcpRelay } from "../helpers/net.ts";
import { NATS_PASSWORD, NATS_USER, startNats, type NatsServer } from "../helpers/nats.ts";
import { runCheckOnce } from "../helpers/checks.ts";

let server: NatsServer;

before(async () => {
  server = await startNats();
});
after(() => server?.stop());

const run = runCheckOnce;

const credentials = { user: NATS_USER, pass: NATS_PASSWORD };

const V2 = natsV2.connect as unknown as NatsConnect;

/** The CONNECT options each client sent through the relay. */
const connectsThrough = (relay: { sent(): string }) => [...relay.sent().matchAll(/^CONNECT (\{.*\})\r$/gm)].map((match) => JSON.parse(match[1]!) as Record<string, unknown>);

describe("natsPing: healthy", () => {
  it("passes with @nats-io/transport-node (v3, loaded on the first run), reporting the flush's round trip", async () => {
    const result = await run(natsPing({ servers: server.servers, ...credentials }));
    assert.equal(result.status, "pass", result.detail);
    assert.equal(result.name, "nats");
    assert.equal(result.observedUnit, "ms");
    assert.ok(typeof result.observedValue === "number" && result.observedValue >= 0);
  });

  it("passes with nats v2's connect, and with credentials in the URL", async () => {
    assert.equal((await run(natsPing({ servers: server.servers, ...credentials, connect: natsV2.connect as unknown as NatsConnect }))).status, "pass");
    const inUrl = `nats://${NATS_USER}:${NATS_PASSWORD}@127.0.0.1:${server.port}`;
    assert.equal((await run(natsPing({ servers: [inUrl] }))).status, "pass");
  });

  it("flushes the app's connection (v2 or v3) and leaves it open", async () => {
    const v3 = await natsV3.connect({ servers: server.servers, ...credentials });
    const v2 = await natsV2.connect({ servers: server.servers, ...credentials });
    try {
      for (const client of [v3, v2]) {
        assert.equal((await run(natsPing({ client }))).status, "pass");
        assert.equal(client.isClosed(), false);
      }
      await v2.close();
      assert.equal((await run(natsPing({ client: v2 }))).output, "unavailable: the connection is closed");
    } finally {
      await v3.close();
      if (!v2.isClosed()) await v2.close();
    }
  });

  it("its own connection is named `probekit` in the CONNECT the server receives (v3 and v2)", async () => {
    const relay = await tcpRelay(server.port);
    try {
      for (const connect of [undefined, V2]) {
        const seen = connectsThrough(relay).length;
        assert.equal((await run(natsPing({ servers: `nats://127.0.0.1:${relay.port}`, ...credentials, connect }))).status, "pass");
        assert.deepEqual(connectsThrough(relay).slice(seen).map((options) => options.name), ["probekit"]);
      }
    } finally {
      relay.close();
    }
  });

  it("a black-holed server listed with a live one: passes on the live one without waiting out the dead one's timeout (v3 and v2)", async () => {
    const hole = await blackHole();
    const dead = `nats://127.0.0.1:${hole.port}`;
    try {
      for (const connect of [undefined, V2]) {
        for (const servers of [[dead, server.servers], [server.servers, dead]]) {
          const started = performance.now();
          // The driver's connect timeout is 8 s here: waiting out the black hole's would show.
          const result = await run(natsPing({ servers, ...credentials, connect }), 10_000);
          const took = performance.now() - started;
          assert.equal(result.status, "pass", `${servers.join(", ")}: ${result.detail}`);
          assert.ok(took < 4000, `${servers.join(", ")}: took ${Math.round(took)} ms`);
        }
      }
      for (let waited = 0; waited < 2000 && hole.open() > 0; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(hole.open(), 0, "no socket to the black hole left open");
    } finally {
      hole.close();
    }
  });

  it("rejects wrong options when defined; unset servers fail at run time", async () => {
    assert.throws(() => natsPing({ client: {} as never }), /client must be a NATS connection/);
    assert.throws(() => natsPing({ client: { flush: async () => {}, isClosed: () => false }, servers: server.servers }), /either client or servers/);
    assert.equal((await run(natsPing({ servers: process.env.PROBEKIT_UNSET_NATS_URL }))).output, "unavailable: no NATS servers configured");
  });
});

describe("natsPing: faults, with safe public messages", () => {
  it("wrong password: 'authentication failed' with v3 and v2, and the public body names neither user nor host", async () => {
    for (const connect of [undefined, natsV2.connect as unknown as NatsConnect]) {
      const check = natsPing({ servers: server.servers, user: NATS_USER, pass: "wrong-password", connect });
      const result = await run(check);
      assert.equal(result.output, "unavailable: authentication failed", result.detail);
      const config = defineHealthConfig({ subsets: { readiness: [check] }, logger: false });
      const body = await (await handleHealthRequest(new Request("http://app.test/healthcheck/readiness?format=json"), config)).text();
      for (const secret of [NATS_USER, "wrong-password", "127.0.0.1", String(server.port), "Authorization Violation"]) {
        assert.ok(!body.includes(secret), `public body leaks ${secret}: ${body}`);
      }
    }
  });

  it("server not listening: 'connection refused' (v3 and v2)", async () => {
    const servers = `nats://127.0.0.1:${await freePort()}`;
    assert.equal((await run(natsPing({ servers }))).output, "unavailable: connection refused");
    assert.equal((await run(natsPing({ servers, connect: natsV2.connect as unknown as NatsConnect }))).output, "unavailable: connection refused");
  });

  it("a listener that accepts and never answers: fails within the timeout, and no socket is left open", async () => {
    const hole = await blackHole();
    try {
      for (const connect of [undefined, natsV2.connect as unknown as NatsConnect]) {
        const started = performance.now();
        const result = await run(natsPing({ servers: `nats://127.0.0.1:${hole.port}`, connect }), 600);
        assert.match(result.output, /^unavailable: (connection timed out|timed out after 600 ms)$/);
        assert.ok(performance.now() - started < 1000);
        for (let waited = 0; waited < 2000 && hole.open() > 0; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(hole.open(), 0);
      }
    } finally {
      hole.close();
    }
  });

  it("every listed server dead: the first one's failure, within the timeout, and no socket left open", async () => {
    const [one, two] = [await blackHole(), await blackHole()];
    const refused = `nats://127.0.0.1:${await freePort()}`;
    try {
      for (const connect of [undefined, V2]) {
        assert.equal((await run(natsPing({ servers: [refused, `nats://127.0.0.1:${one.port}`], connect }), 600)).output, "unavailable: connection refused");
        const started = performance.now();
        const result = await run(natsPing({ servers: [`nats://127.0.0.1:${one.port}`, `nats://127.0.0.1:${two.port}`, refused], connect }), 600);
        assert.match(result.output, /^unavailable: (connection timed out|timed out after 600 ms)$/);
        assert.ok(performance.now() - started < 1000);
      }
      for (let waited = 0; waited < 2000 && one.open() + two.open() > 0; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(one.open() + two.open(), 0);
    } finally {
      one.close();
      two.close();
    }
  });

  it("a process whose check timed out on a paused server exits by itself", async () => {
    assert.equal((await run(natsPing({ servers: server.servers, ...credentials }))).status, "pass");
    server.pause();
    try {
      const script = `
        import { defineHealthConfig, runHealthChecks } from "./src/index.ts";
        import { natsPing } from "./src/checks/nats.ts";
        const config = defineHealthConfig({ subsets: { s: [natsPing({ servers: ${JSON.stringify(server.servers)}, user: ${JSON.stringify(NATS_USER)}, pass: ${JSON.stringify(NATS_PASSWORD)} })] }, timeoutMs: 400, logger: false });
        const report = await runHealthChecks(config, "s");
        process.stdout.write(report.checks[0].output + "\\n");
      `;
      const { code, output, ms } = await runScript(script);
      assert.equal(code, 0, output);
      assert.match(output, /unavailable: (connection timed out|timed out after 400 ms)/);
      assert.ok(ms < 12_000, `exited after ${Math.round(ms)} ms`);
    } finally {
      server.resume();
    }
  });

  it("passes again after the server restarts", async () => {
    const check = natsPing({ servers: server.servers, ...credentials });
    assert.equal((await run(check)).status, "pass");
    await server.stop();
    try {
      assert.equal((await run(check, 1000)).output, "unavailable: connection refused");
    } finally {
      await server.start();
    }
    assert.equal((await run(check)).status, "pass");
  });
});
