/**
 * The check kit every built-in check is made of (src/internal/): the owned client's
 * life cycle, the peer loader's message, the guard, the safe-error translator and the
 * one timer race.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ServiceUnavailable, ServiceWarning } from "../../src/index.ts";
import { isoNow, isoTime, LATE, withDeadline } from "../../src/core/util.ts";
import { ownedClient } from "../../src/internal/owned-client.ts";
import { loadPeer } from "../../src/internal/peer.ts";
import { guarded, safeError } from "../../src/internal/safe-errors.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("ownedClient", () => {
  it("creates on first use only, shares one create between concurrent callers, and passes the run's context", async () => {
    const made: number[] = [];
    const owned = ownedClient({ create: async (timeoutMs: number) => (made.push(timeoutMs), { id: made.length }) });
    assert.deepEqual(made, [], "nothing at definition");
    const [a, b] = await Promise.all([owned.get(3000), owned.get(1000)]);
    assert.equal(a, b);
    assert.deepEqual(made, [3000]);
  });

  it("never caches a failed create: the next run tries again", async () => {
    let attempts = 0;
    const owned = ownedClient({ create: async () => { if (++attempts < 3) throw new Error(`down ${attempts}`); return "client"; } });
    await assert.rejects(owned.get(), /down 1/);
    await assert.rejects(owned.get(), /down 2/);
    assert.equal(await owned.get(), "client");
    assert.equal(attempts, 3);
  });

  it("closes once; a later use makes a new client", async () => {
    const closed: string[] = [];
    let n = 0;
    const owned = ownedClient({ create: async () => `c${++n}`, close: (client: string) => void closed.push(client) });
    await owned.close();
    assert.deepEqual(closed, [], "nothing made, nothing closed");
    await owned.get();
    await Promise.all([owned.close(), owned.close()]);
    assert.deepEqual(closed, ["c1"]);
    assert.equal(await owned.get(), "c2");
  });

  it("a close that hangs is abandoned after its deadline, and onCloseLate cuts what is left", async () => {
    const cut: string[] = [];
    const owned = ownedClient({ create: async () => "stuck", close: () => new Promise(() => {}), closeDeadlineMs: 50, onCloseLate: (client: string) => void cut.push(client) });
    await owned.get();
    const started = performance.now();
    await owned.close();
    const took = performance.now() - started;
    assert.ok(took >= 45 && took < 1000, `took ${took}`);
    assert.deepEqual(cut, ["stuck"]);
  });

  it("a close that throws does not throw to the caller", async () => {
    const owned = ownedClient({ create: async () => 1, close: () => { throw new Error("boom"); } });
    await owned.get();
    await owned.close();
  });
});

describe("loadPeer", () => {
  it("names the package to install in one message shape", async () => {
    await assert.rejects(
      loadPeer("probekit/checks/x", "some-driver", () => import("probekit-no-such-package" as string) as Promise<{ connect: unknown }>, "connect"),
      (error: unknown) => error instanceof ServiceUnavailable && error.message === 'probekit/checks/x: cannot load "some-driver" — npm install some-driver' && error.cause !== undefined,
    );
  });

  it("finds the export wherever the module system put it (named, on default, or default itself)", async () => {
    const connect = () => "connected";
    assert.equal(await loadPeer("w", "p", async () => ({ connect }), "connect"), connect);
    assert.equal(await loadPeer("w", "p", async () => ({ default: { connect } }) as { connect?: typeof connect; default: { connect: typeof connect } }, "connect"), connect);
    assert.equal(await loadPeer("w", "p", async () => ({ default: connect }), "default"), connect);
    await assert.rejects(loadPeer("w", "p", async () => ({}) as { connect?: () => void }, "connect"), /w: "p" has no connect export/);
  });
});

describe("guarded and safeError", () => {
  it("lets the runner's abort through and makes anything else safe", async () => {
    const controller = new AbortController();
    const translate = () => new ServiceUnavailable("safe");
    await assert.rejects(guarded(controller.signal, () => Promise.reject(new Error("host 10.0.0.1")), translate), /^ServiceUnavailable: safe$/);
    controller.abort(new DOMException("timed out", "TimeoutError"));
    const reason = controller.signal.reason;
    await assert.rejects(guarded(controller.signal, () => Promise.reject(reason), translate), (error) => error === reason);
    assert.equal(await guarded(controller.signal, () => 7, translate), 7);
    await assert.rejects(guarded(new AbortController().signal, () => { throw "sync"; }, translate), /safe/);
  });

  it("translates by the check's codes first, then its patterns, then the shared network codes, then the fallback", () => {
    const names = { codes: { "28P01": "authentication failed" }, patterns: [[/^NOAUTH/, "authentication required"]] as const, fallback: "query failed" };
    const withCode = (code: string, message = "raw") => Object.assign(new Error(message), { code });
    assert.equal(safeError(withCode("28P01", "NOAUTH raw"), names).message, "authentication failed");
    assert.equal(safeError(new Error("NOAUTH user=admin"), names).message, "authentication required");
    assert.equal(safeError(withCode("ECONNREFUSED", "connect 10.0.0.1:5432"), names).message, "connection refused");
    assert.equal(safeError(new Error("something else at 10.0.0.1"), names).message, "query failed");
    assert.equal(safeError(new Error("x", { cause: withCode("ENOTFOUND") }), names).message, "host not found");
    const own = new ServiceWarning("degraded");
    assert.equal(safeError(own, names), own, "a HealthCheckError passes as it is");
    const translated = safeError(new Error("secret"), names);
    assert.ok(translated.cause instanceof Error && translated.cause.message === "secret", "the raw error stays the cause");
  });
});

describe("withDeadline", () => {
  it("settles as the work does, or LATE once the deadline passes, then calls onLate; no timer is left", async () => {
    assert.equal(await withDeadline(Promise.resolve(1), 1000), 1);
    await assert.rejects(withDeadline(Promise.reject(new Error("no")), 1000), /no/);
    const order: string[] = [];
    const result = await withDeadline(sleep(200).then(() => "late work"), 20, () => void order.push("onLate"));
    order.push(String(result === LATE));
    assert.deepEqual(order, ["onLate", "true"]);
  });

  it("makes no timer for work already settled (an async check done before its first await); pending work gets one, cleared when it settles", async (t) => {
    const made = t.mock.method(globalThis, "setTimeout");
    const cleared = t.mock.method(globalThis, "clearTimeout");
    assert.equal(await withDeadline((async () => "done")(), 1000), "done");
    await assert.rejects(withDeadline((async () => { throw new Error("failed at once"); })(), 1000), /failed at once/);
    assert.equal(made.mock.callCount(), 0);
    assert.equal(await withDeadline(sleep(5).then(() => "later"), 1000), "later");
    assert.equal(made.mock.calls.filter((call) => call.arguments[1] === 1000).length, 1, "one deadline timer for the pending work");
    const deadline = made.mock.calls.find((call) => call.arguments[1] === 1000)!.result;
    assert.ok(cleared.mock.calls.some((call) => call.arguments[0] === deadline), "and it is cleared");
  });
});

describe("isoTime and isoNow", () => {
  it("write what Date's toISOString writes, at the edges of months, leap years and the range", () => {
    const edges = [0, 1, 999, 86_399_999, 951_782_400_000 /* 2000-02-29 */, 951_868_799_999, 4_107_456_000_000 /* 2100-02-28 */, 4_107_542_400_000 /* 2100-03-01 */, 253_402_300_799_999, 253_402_300_800_000, -1, 1.5, Number.MAX_SAFE_INTEGER / 1000];
    let random = 12345;
    const next = () => (random = (random * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const samples = [...edges, ...Array.from({ length: 20_000 }, () => Math.floor(next() * 253_402_300_800_000))];
    for (const ms of samples) assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
  });

  it("isoNow is now, to the millisecond", () => {
    const before = Date.now();
    const stamped = Date.parse(isoNow());
    assert.ok(stamped >= before && stamped <= Date.now());
  });
});

