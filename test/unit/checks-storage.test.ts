import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { closeSync, constants, existsSync, openSync, readdirSync, watch, writeFileSync } from "node:fs";
import { chmod, mkdtemp, open, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { runHealthChecks, type Check, type CheckReport } from "../../src/index.ts";
import { fileStorage } from "../../src/checks/storage.ts";
import { quietConfig, sleep } from "../helpers/checks.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PROBE = fileURLToPath(new URL("../helpers/storage-probe.ts", import.meta.url));

let base: string;
/** unshare flags that give a child a private mount namespace it may mount a tmpfs in; undefined where this machine allows neither. */
let namespace: string[] | undefined;

before(async () => {
  base = await mkdtemp(join(tmpdir(), "probekit-storage-"));
  const scratch = await mkdtemp(join(base, "ns-"));
  // Root with CAP_SYS_ADMIN (a VM, this sandbox, a privileged container), else an unprivileged user namespace.
  namespace = [["--mount"], ["--user", "--map-root-user", "--mount"]].find(
    (flags) => spawnSync("unshare", [...flags, "sh", "-c", 'mount -t tmpfs -o size=4k probekit "$1"', "sh", scratch], { stdio: "ignore" }).status === 0,
  );
});
after(() => rm(base, { recursive: true, force: true }));

const freshDir = () => mkdtemp(join(base, "dir-"));

async function result(check: Check, timeoutMs = 3000): Promise<CheckReport> {
  const report = await runHealthChecks(quietConfig({ subsets: { s: [check] }, timeoutMs, cacheTtlMs: 0 }), "s");
  return report.checks[0]!;
}

interface ChildOutcome {
  status: string;
  output: string;
  detail: string;
  left: string[];
}

/** Runs test/helpers/storage-probe.ts through `command` and returns what it printed. */
function probeInChild(command: string, args: string[]): ChildOutcome {
  const child = spawnSync(command, args, { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
  assert.equal(child.status, 0, `${command} ${args.join(" ")} exited ${child.status}: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split("\n").at(-1)!) as ChildOutcome;
}

/** Runs the probe on `dir` in a private mount namespace after `setup` (a shell line that mounts on "$1"); it vanishes with the child. */
function probeInNamespace(flags: string[], dir: string, setup: string): ChildOutcome {
  return probeInChild("unshare", [...flags, "sh", "-c", `${setup} && exec "$2" --import tsx "$3" "$1"`, "sh", dir, process.execPath, PROBE]);
}

/** Records the names created in `dir`, through inotify (which needs no thread-pool thread). */
function watchNames(dir: string) {
  const names = new Set<string>();
  const watcher = watch(dir, (event, name) => {
    if (event === "rename" && name !== null) names.add(name);
  });
  return { names, close: () => watcher.close() };
}

/**
 * Occupies every libuv thread-pool thread with the open() of a FIFO, which blocks
 * until a writer comes: until the returned function releases them, every fs call
 * of the check waits in the queue. Deterministic, and no CPU burnt.
 */
async function blockThreadPool(): Promise<() => Promise<void>> {
  const size = Math.min(Math.max(Number(process.env.UV_THREADPOOL_SIZE) || 4, 1), 1024);
  const dir = await mkdtemp(join(base, "fifos-"));
  const fifos = Array.from({ length: size }, (_, index) => join(dir, `fifo-${index}`));
  for (const fifo of fifos) assert.equal(spawnSync("mkfifo", [fifo]).status, 0, "mkfifo");
  const readers = fifos.map((fifo) => open(fifo, "r"));
  await sleep(50);
  return async () => {
    // A reader is waiting on each FIFO, so a non-blocking open for writing succeeds and wakes it.
    for (const fifo of fifos) closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    for (const reader of await Promise.all(readers)) await reader.close();
  };
}

async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  for (const deadline = Date.now() + ms; !condition(); await sleep(10)) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
  }
}

/**
 * Runs the check in fresh directories where `interfere` reacts (synchronously, on
 * inotify events) to the check's own file, until a run fails. The interference is
 * real; whether it lands before the check's next call is the scheduler's choice,
 * so a run that passes is allowed, and only a run that never fails is not.
 */
async function runUntilInterfered(interfere: (event: string, path: string, name: string) => void): Promise<{ check: CheckReport; left: string[] }> {
  const deadline = Date.now() + 10_000;
  for (let attempt = 0; attempt < 2000 && Date.now() < deadline; attempt++) {
    const dir = await freshDir();
    const watcher = watch(dir, (event, name) => {
      if (name?.startsWith(".probekit-")) interfere(event, join(dir, name), name);
    });
    try {
      const check = await result(fileStorage({ dir }));
      if (check.status !== "pass") return { check, left: readdirSync(dir) };
    } finally {
      watcher.close();
    }
  }
  return assert.fail("the interference never landed before the check's next call");
}

describe("fileStorage", () => {
  it("writes, reads back, deletes and confirms in a real directory, leaving nothing behind", async () => {
    const dir = await freshDir();
    const seen = watchNames(dir);
    try {
      const check = await result(fileStorage({ dir }));
      assert.equal(check.status, "pass", check.detail);
      assert.equal(check.name, "storage");
      assert.equal(check.componentType, "component");
      assert.equal(check.observedUnit, "ms");
      await until(() => seen.names.size > 0, "the write is seen");
      assert.match([...seen.names][0]!, /^\.probekit-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    } finally {
      seen.close();
    }
    assert.deepEqual(readdirSync(dir), []);
  });

  it("resolves a relative dir against the working directory, and takes the common options", async () => {
    const dir = await freshDir();
    const check = await result(fileStorage({ dir: relative(process.cwd(), dir), name: "uploads", critical: false, componentType: "datastore" }));
    assert.equal(check.status, "pass", check.detail);
    assert.equal(check.name, "uploads");
    assert.equal(check.critical, false);
    assert.equal(check.componentType, "datastore");
    assert.deepEqual(readdirSync(dir), []);
  });

  it("50 concurrent runs of one check object in one directory each use their own file, all pass and leave nothing", async () => {
    const dir = await freshDir();
    const check = fileStorage({ dir });
    const seen = watchNames(dir);
    try {
      // Separate configs, so the runner cannot share one in-flight run between them.
      const reports = await Promise.all(Array.from({ length: 50 }, () => runHealthChecks(quietConfig({ subsets: { s: [check] }, cacheTtlMs: 0 }), "s")));
      assert.deepEqual(
        reports.map((report) => report.checks[0]!.status),
        Array(50).fill("pass"),
        reports.map((report) => report.checks[0]!.detail).join("\n"),
      );
      await until(() => seen.names.size >= 50, "50 files are seen");
      assert.equal(seen.names.size, 50);
    } finally {
      seen.close();
    }
    assert.deepEqual(readdirSync(dir), []);
  });

  it("an empty or unset dir fails when run, not when defined", async () => {
    for (const dir of ["", "  ", undefined]) {
      const check = fileStorage({ dir });
      const report = await result(check);
      assert.equal(report.status, "fail");
      assert.equal(report.output, "unavailable: no directory configured");
    }
  });

  it("a missing directory: 'directory not found', keeping the raw error as the cause", async () => {
    const dir = join(base, "no-such-dir");
    const check = await result(fileStorage({ dir }));
    assert.equal(check.status, "fail");
    assert.equal(check.output, `unavailable: directory not found: ${dir}`);
    assert.equal(((check.error as Error).cause as NodeJS.ErrnoException).code, "ENOENT");
    assert.match(check.detail, /\(cause: Error: ENOENT: no such file or directory, open '.*\.probekit-/);
    assert.equal(existsSync(dir), false);
  });

  it("a file where the directory should be: 'not a directory', the file untouched", async () => {
    const file = join(await freshDir(), "plain-file");
    await writeFile(file, "keep me");
    const check = await result(fileStorage({ dir: file }));
    assert.equal(check.output, `unavailable: not a directory: ${file}`);
    assert.equal(await readFile(file, "utf8"), "keep me");
  });

  it("a directory this process may not write to (mode 0o555): 'permission denied'", async () => {
    const dir = await freshDir();
    await chmod(dir, 0o555);
    try {
      // Root passes any mode through CAP_DAC_OVERRIDE: the child stays root but without a single
      // capability, so the mode applies to it as to any other user, and it can still read the repo.
      const asRoot = process.getuid?.() === 0;
      const node = [process.execPath, "--import", "tsx", PROBE, dir];
      const outcome = asRoot ? probeInChild("setpriv", ["--bounding-set=-all", "--inh-caps=-all", ...node]) : probeInChild(node[0]!, node.slice(1));
      assert.equal(outcome.output, `unavailable: permission denied: cannot write to ${dir}`, outcome.detail);
      assert.match(outcome.detail, /EACCES/);
      assert.deepEqual(outcome.left, []);
    } finally {
      await chmod(dir, 0o755);
    }
  });

  it("a read-only file system: 'read-only'", async () => {
    const dir = await freshDir();
    if (namespace !== undefined) {
      // A fresh read-only tmpfs in a private mount namespace: nothing is mounted on this machine.
      const outcome = probeInNamespace(namespace, dir, 'mount -t tmpfs -o ro,size=64k probekit "$1"');
      assert.equal(outcome.output, `unavailable: read-only: cannot write to ${dir}`, outcome.detail);
      assert.match(outcome.detail, /EROFS/);
      assert.deepEqual(outcome.left, []);
      return;
    }
    // No mount allowed (a default Docker container): such containers mount /sys read-only.
    const readOnly = await firstReadOnly(["/sys/fs/cgroup", "/sys"]);
    assert.ok(readOnly, "neither a mount namespace nor a read-only mount to test against");
    const check = await result(fileStorage({ dir: readOnly }));
    assert.equal(check.output, `unavailable: read-only: cannot write to ${readOnly}`, check.detail);
  });

  it("a full file system: 'no space left', the empty file removed", async (t) => {
    // CI machines allow mount namespaces (.ci/run runs as root on a VM): a missing one there is a failure, not a skip.
    if (namespace === undefined && process.env.CI === "true") assert.fail("unshare --mount is not permitted: cannot build the tiny tmpfs for ENOSPC");
    if (namespace === undefined) return t.skip("needs a mount namespace for a tiny tmpfs (unshare is not permitted here)");
    const dir = await freshDir();
    // A 64 KiB tmpfs filled up: creating the file still works, writing to it does not.
    const outcome = probeInNamespace(namespace, dir, 'mount -t tmpfs -o size=64k probekit "$1" && { head -c 1048576 /dev/zero > "$1/filler" 2>/dev/null; true; }');
    assert.equal(outcome.output, `unavailable: no space left on ${dir}`, outcome.detail);
    assert.match(outcome.detail, /ENOSPC/);
    assert.deepEqual(outcome.left, ["filler"]);
  });

  it("a run cut off by its timeout is reported as such, and its file is still removed afterwards", async () => {
    const dir = await freshDir();
    const seen = watchNames(dir);
    const release = await blockThreadPool();
    try {
      let check: CheckReport;
      try {
        check = await result(fileStorage({ dir }), 50);
        // The check's open() is still queued: it creates the file only once the pool is free.
        assert.deepEqual(readdirSync(dir), []);
      } finally {
        await release();
      }
      assert.equal(check.output, "unavailable: timed out after 50 ms");
      await until(() => seen.names.size === 1 && readdirSync(dir).length === 0, "the late file is created and removed");
    } finally {
      seen.close();
    }
  });

  it("passes an abort through untranslated, and has removed its file by the time it settles", async () => {
    const dir = await freshDir();
    const seen = watchNames(dir);
    const release = await blockThreadPool();
    try {
      const controller = new AbortController();
      const run = Promise.resolve(fileStorage({ dir }).check({ signal: controller.signal, timeoutMs: 1000 }));
      // Aborted after writeFile began (its open() is queued) and before the file exists.
      controller.abort(new DOMException("timed out after 1000 ms", "TimeoutError"));
      const rejected = assert.rejects(run, { name: "AbortError" });
      await release();
      await rejected;
      assert.deepEqual(readdirSync(dir), []);
      await until(() => seen.names.size === 1, "the file the aborted write created is seen");
    } finally {
      seen.close();
    }
  });

  it("the file changed by someone else between write and read: 'content read back differs'", async () => {
    const tampered = new Set<string>();
    const { check, left } = await runUntilInterfered((event, path, name) => {
      if (event !== "change" || tampered.has(name)) return;
      tampered.add(name);
      // r+: overwrite in place, and never create the file again once the check has deleted it.
      try {
        writeFileSync(path, "tampered", { flag: "r+" });
      } catch {}
    });
    assert.equal(check.output, "unexpected result: content read back differs");
    assert.deepEqual(left, []);
  });

  it("the file put back by someone else after the delete: 'file still exists after delete', then removed", async () => {
    const restored = new Set<string>();
    const { check, left } = await runUntilInterfered((event, path, name) => {
      if (event !== "rename" || restored.has(name) || existsSync(path)) return;
      restored.add(name);
      try {
        writeFileSync(path, "back", { flag: "wx" });
      } catch {}
    });
    assert.equal(check.output, "unexpected result: file still exists after delete");
    // The check's cleanup removed the file it found again.
    assert.deepEqual(left, []);
  });
});

/** The first of `candidates` where creating a file fails with EROFS. */
async function firstReadOnly(candidates: string[]): Promise<string | undefined> {
  for (const dir of candidates) {
    const file = join(dir, `.probekit-probe-${randomUUID()}`);
    try {
      await writeFile(file, "", { flag: "wx" });
      await unlink(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EROFS") return dir;
    }
  }
  return undefined;
}
