import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runHealthChecks, type Check } from "../../src/index.ts";
import { diskUsage, memory } from "../../src/checks/system.ts";
import { quietConfig } from "../helpers/checks.ts";
import { runScript } from "../helpers/child-process.ts";

async function result(check: Check) {
  const report = await runHealthChecks(quietConfig({ subsets: { s: [check] }, cacheTtlMs: 0 }), "s");
  return report.checks[0]!;
}

describe("diskUsage", () => {
  it("measures the real file system and passes below the threshold", async () => {
    const check = await result(diskUsage({ path: "/", maxPercent: 100 }));
    assert.equal(check.status, "pass");
    assert.equal(check.observedUnit, "percent");
    assert.ok(typeof check.observedValue === "number" && check.observedValue > 0 && check.observedValue < 100);
    assert.equal(check.name, "disk");
    assert.equal(check.componentType, "system");
  });

  it("warns at or above maxPercent, naming the figure and the threshold", async () => {
    const check = await result(diskUsage({ path: "/", maxPercent: 0.01 }));
    assert.equal(check.status, "warn");
    assert.match(check.output, /^warning: \/ is \d+(\.\d)?% full \(max 0\.01%\)$/);
  });

  it("fails clearly for a path that does not exist", async () => {
    const check = await result(diskUsage({ path: "/no/such/dir" }));
    assert.equal(check.status, "fail");
    assert.equal(check.output, "unavailable: cannot measure /no/such/dir: ENOENT");
  });

  it("by default measures / and warns from 90% full", async () => {
    // A fresh Node whose file system is 1000 blocks (none reserved for root), 899 then 900 of them used.
    const { code, output } = await runScript(`
      const fsp = process.getBuiltinModule("node:fs/promises");
      const asked = new Set();
      let used = 0;
      fsp.statfs = async (path) => (asked.add(path), { blocks: 1000, bfree: 1000 - used, bavail: 1000 - used });
      (await import("node:module")).syncBuiltinESMExports();
      const { runHealthChecks, defineHealthConfig } = await import("./src/index.ts");
      const { diskUsage } = await import("./src/checks/system.ts");
      const config = defineHealthConfig({ subsets: { s: [diskUsage()] }, cacheTtlMs: 0, logger: false });
      const seen = [];
      for (used of [899, 900]) {
        const [check] = (await runHealthChecks(config, "s")).checks;
        seen.push([check.status, check.output]);
      }
      console.log(JSON.stringify({ asked: [...asked], seen }));
    `);
    assert.equal(code, 0, output);
    assert.deepEqual(JSON.parse(output), {
      asked: ["/"],
      seen: [
        ["pass", "89.9% used"],
        ["warn", "warning: / is 90% full (max 90%)"],
      ],
    });
  });

  it("rejects a nonsense threshold when defined", () => {
    assert.throws(() => diskUsage({ maxPercent: 0 }), TypeError);
    assert.throws(() => diskUsage({ maxPercent: 120 }), TypeError);
  });
});

describe("memory", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "probekit-cgroup-"));
  });
  after(() => rm(root, { recursive: true, force: true }));

  /** A cgroup tree laid out as the kernel does, and the /proc/self/cgroup that points into it. */
  async function cgroup(name: string, membership: string, files: Record<string, string>) {
    const dir = join(root, name);
    await mkdir(dir, { recursive: true });
    for (const [file, content] of Object.entries(files)) {
      await mkdir(join(dir, file, ".."), { recursive: true });
      await writeFile(join(dir, file), content);
    }
    await writeFile(join(dir, "self-cgroup"), membership);
    return { cgroupRoot: dir, procSelfCgroup: join(dir, "self-cgroup") };
  }

  it("reads this machine for real", async () => {
    const check = await result(memory({ minAvailableMb: 1 }));
    assert.equal(check.status, "pass");
    assert.equal(check.observedUnit, "MB");
    assert.ok(typeof check.observedValue === "number" && check.observedValue > 1);
    assert.equal((await result(memory({ minAvailableMb: 10_000_000 }))).status, "warn");
  });

  it("cgroup v2: limit minus the working set (usage minus inactive file cache)", async () => {
    const seams = await cgroup("v2", "0::/\n", {
      "memory.max": "536870912\n", // 512 MiB
      "memory.current": "503316480\n", // 480 MiB
      "memory.stat": "anon 400000000\ninactive_file 20971520\nactive_file 1\n", // 20 MiB
    });
    const check = await result(memory({ minAvailableMb: 100, ...seams }));
    assert.equal(check.status, "warn");
    assert.equal(check.output, "warning: 52 MB available in the container (min 100 MB)"); // 512 - (480 - 20)
    const enough = await result(memory({ minAvailableMb: 50, ...seams }));
    assert.equal(enough.status, "pass");
    assert.equal(enough.observedValue, 52);
  });

  it("cgroup v2 in a nested cgroup, as seen without a cgroup namespace", async () => {
    const seams = await cgroup("v2-nested", "0::/kubepods/pod1/ctr\n", {
      "kubepods/pod1/ctr/memory.max": "1073741824\n",
      "kubepods/pod1/ctr/memory.current": "104857600\n",
      "kubepods/pod1/ctr/memory.stat": "inactive_file 0\n",
    });
    assert.equal((await result(memory(seams))).observedValue, 924);
  });

  it("cgroup v1: limit_in_bytes, usage_in_bytes and total_inactive_file", async () => {
    const seams = await cgroup("v1", "12:pids:/\n4:memory:/docker/abc\n", {
      "memory/docker/abc/memory.limit_in_bytes": "268435456\n", // 256 MiB
      "memory/docker/abc/memory.usage_in_bytes": "209715200\n", // 200 MiB
      "memory/docker/abc/memory.stat": "cache 1\ntotal_inactive_file 10485760\n", // 10 MiB
    });
    const check = await result(memory({ minAvailableMb: 100, ...seams }));
    assert.equal(check.status, "warn");
    assert.equal(check.output, "warning: 66 MB available in the container (min 100 MB)"); // 256 - (200 - 10)
  });

  it("by default warns below 100 MB available", async () => {
    const limit = { "memory.max": `${200 * 2 ** 20}\n`, "memory.stat": "inactive_file 0\n" };
    const short = await cgroup("default-99", "0::/\n", { ...limit, "memory.current": `${101 * 2 ** 20}\n` });
    const enough = await cgroup("default-100", "0::/\n", { ...limit, "memory.current": `${100 * 2 ** 20}\n` });
    const warned = await result(memory(short));
    assert.equal(warned.status, "warn");
    assert.equal(warned.output, "warning: 99 MB available in the container (min 100 MB)");
    const passed = await result(memory(enough));
    assert.equal(passed.status, "pass");
    assert.equal(passed.output, "100 MB available in the container");
  });

  it("no container limit (v2 'max', v1 2^63) means the machine's memory", async () => {
    for (const [name, membership, files] of [
      ["v2-max", "0::/\n", { "memory.max": "max\n", "memory.current": "1\n" }],
      ["v1-max", "4:memory:/\n", { "memory/memory.limit_in_bytes": "9223372036854771712\n", "memory/memory.usage_in_bytes": "1\n" }],
      ["none", "", {}],
    ] as const) {
      const check = await result(memory({ minAvailableMb: 1, ...(await cgroup(name, membership, files)) }));
      assert.equal(check.status, "pass", name);
      assert.equal(check.output, `${check.observedValue} MB available`, name);
    }
  });
});

describe("without process.getBuiltinModule (Node before 20.16)", () => {
  it("both checks still measure, importing Node's modules instead", async () => {
    const { code, output } = await runScript(`
      delete process.getBuiltinModule;
      const { runHealthChecks, defineHealthConfig } = await import("./src/index.ts");
      const { diskUsage, memory } = await import("./src/checks/system.ts");
      const config = defineHealthConfig({ subsets: { s: [diskUsage({ maxPercent: 100 }), memory({ minAvailableMb: 0 })] }, cacheTtlMs: 0 });
      const report = await runHealthChecks(config, "s");
      console.log(JSON.stringify({ unset: process.getBuiltinModule === undefined, checks: report.checks.map((c) => [c.name, c.status, c.observedUnit]) }));
    `);
    assert.equal(code, 0, output);
    assert.deepEqual(JSON.parse(output), { unset: true, checks: [["disk", "pass", "percent"], ["memory", "pass", "MB"]] });
  });
});
