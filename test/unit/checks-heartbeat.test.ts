import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, utimes, writeFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runHealthChecks } from "../../src/index.ts";
import { fileHeartbeat, startFileHeartbeat } from "../../src/checks/heartbeat.ts";
import { quietConfig, sleep } from "../helpers/checks.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "probekit-heartbeat-"));
});
after(() => rm(dir, { recursive: true, force: true }));

async function probe(file: string, maxAgeMs: number) {
  const report = await runHealthChecks(quietConfig({ subsets: { liveness: [fileHeartbeat({ file, maxAgeMs })] }, cacheTtlMs: 0 }), "liveness");
  return report.checks[0]!;
}

describe("file heartbeat", () => {
  it("passes while the worker beats and goes stale within maxAgeMs after it stops", async () => {
    const file = join(dir, "beat");
    const stop = startFileHeartbeat({ file, intervalMs: 50 });
    await sleep(120);
    const fresh = await probe(file, 400);
    assert.equal(fresh.status, "pass");
    assert.match(fresh.output, /^fresh \(age=0\.\ds\)$/);
    stop();
    await sleep(550);
    const stale = await probe(file, 400);
    assert.equal(stale.status, "fail");
    assert.match(stale.output, /^unavailable: stale \(age=0\.[5-9]s > max_age=0\.4s\)$/);
  });

  it("fails with 'missing' when there is no file", async () => {
    const result = await probe(join(dir, "never-written"), 1000);
    assert.equal(result.output, "unavailable: missing");
  });

  it("reports the age in the stale message like the Python check did", async () => {
    const file = join(dir, "old");
    await writeFile(file, "x");
    const past = new Date(Date.now() - 75_000);
    await utimes(file, past, past);
    assert.match((await probe(file, 60_000)).output, /^unavailable: stale \(age=75\.\ds > max_age=60\.0s\)$/);
  });

  it("writes atomically: a reader never sees a partial file", async () => {
    const file = join(dir, "atomic");
    const stop = startFileHeartbeat({ file, intervalMs: 1 });
    try {
      await sleep(20);
      for (let i = 0; i < 300; i++) {
        const content = await readFile(file, "utf8");
        assert.match(content, /^\d{4}-\d\d-\d\dT[\d:.]+Z pid=\d+\n$/);
      }
    } finally {
      stop();
    }
    assert.ok((await stat(file)).size > 0);
  });

  it("reports write errors and keeps beating", async () => {
    const errors: unknown[] = [];
    const stop = startFileHeartbeat({ file: join(dir, "no-such-dir", "beat"), intervalMs: 20, onError: (error) => errors.push(error) });
    await sleep(90);
    stop();
    assert.ok(errors.length >= 2, `${errors.length} errors`);
    assert.equal((errors[0] as NodeJS.ErrnoException).code, "ENOENT");
  });

  it("never keeps the process alive", () => {
    const file = join(dir, "child");
    const code = `import { startFileHeartbeat } from ${JSON.stringify(new URL("../../src/checks/heartbeat.ts", import.meta.url).href)}; startFileHeartbeat({ file: ${JSON.stringify(file)}, intervalMs: 10 });`;
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { timeout: 15_000, encoding: "utf8" });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.signal, null);
  });

  it("maxAgeMs defaults to 60 s: a file 59 s old passes, one 61 s old is stale", async () => {
    const file = join(dir, "default-age");
    await writeFile(file, "x");
    const probeDefault = async (ageMs: number) => {
      const past = new Date(Date.now() - ageMs);
      await utimes(file, past, past);
      const report = await runHealthChecks(quietConfig({ subsets: { liveness: [fileHeartbeat({ file })] }, cacheTtlMs: 0 }), "liveness");
      return report.checks[0]!;
    };
    const fresh = await probeDefault(59_000);
    assert.equal(fresh.status, "pass");
    assert.match(fresh.output, /^fresh \(age=59\.\ds\)$/);
    const stale = await probeDefault(61_000);
    assert.equal(stale.status, "fail");
    assert.match(stale.output, /^unavailable: stale \(age=61\.\ds > max_age=60\.0s\)$/);
  });

  it("the writer touches the file every 1000 ms by default", async () => {
    const file = join(dir, "default-interval");
    const stop = startFileHeartbeat({ file });
    const beats: number[] = [];
    try {
      // Each write holds its own time; stop watching at the second one (or well past 1 s).
      const until = performance.now() + 2500;
      while (beats.length < 2 && performance.now() < until) {
        const written = Date.parse((await readFile(file, "utf8").catch(() => "")).split(" ")[0]!);
        if (!Number.isNaN(written) && written !== beats.at(-1)) beats.push(written);
        await sleep(10);
      }
    } finally {
      stop();
    }
    assert.equal(beats.length, 2, "a second beat within 2.5 s");
    const gap = beats[1]! - beats[0]!;
    assert.ok(gap >= 950 && gap < 1500, `${gap} ms between beats`);
  });

  it("with no file named, the writer and the check both use /tmp/worker_heartbeat", async () => {
    const file = "/tmp/worker_heartbeat";
    const existed = existsSync(file);
    const stop = startFileHeartbeat();
    try {
      const until = performance.now() + 2000;
      while (!(await readFile(file, "utf8").catch(() => "")).includes(`pid=${process.pid}\n`)) {
        assert.ok(performance.now() < until, `${file} was not written`);
        await sleep(10);
      }
      stop();
      const check = () => runHealthChecks(quietConfig({ subsets: { liveness: [fileHeartbeat()] }, cacheTtlMs: 0 }), "liveness").then((report) => report.checks[0]!);
      assert.match((await check()).output, /^fresh \(age=0\.\ds\)$/);
      // The check reads that very file: aged by hand, it goes stale.
      const past = new Date(Date.now() - 75_000);
      await utimes(file, past, past);
      assert.match((await check()).output, /^unavailable: stale \(age=75\.\ds > max_age=60\.0s\)$/);
    } finally {
      stop();
      if (!existed) await rm(file, { force: true });
    }
  });

  it("rejects nonsense intervals and ages", () => {
    assert.throws(() => startFileHeartbeat({ intervalMs: 0 }), TypeError);
    assert.throws(() => fileHeartbeat({ maxAgeMs: -1 }), TypeError);
  });
});
