/**
 * probekit/checks/system: disk and memory headroom of the machine or container
 * the process runs in (Node only). Both warn (`ServiceWarning`) rather than fail,
 * like the psutil checks of django-health-check.
 *
 * @example
 * import { diskUsage, memory } from "probekit/checks/system";
 * defineHealthConfig({ subsets: { liveness: [diskUsage({ path: "/data" }), memory()] } });
 */
import type { readFileSync } from "node:fs";
import type { statfs } from "node:fs/promises";
import type { freemem } from "node:os";
import type { join } from "node:path";
import { builtinCheck, type Check, type CommonCheckOptions } from "../core/check.js";
import { ServiceUnavailable, ServiceWarning } from "../core/errors.js";

export interface DiskUsageOptions extends CommonCheckOptions {
  /**
   * A path on the file system to measure.
   * @default "/"
   */
  path?: string;
  /**
   * Warn when this share of the disk, in percent, is used or more.
   * @default 90
   */
  maxPercent?: number;
}

/**
 * Warns when the file system holding `path` is `maxPercent` full or more (used
 * counted as `df` does: space reserved for root is not available).
 *
 * @example
 * diskUsage({ path: "/var/lib/uploads", maxPercent: 85 });
 */
export function diskUsage(options: DiskUsageOptions = {}): Check {
  const path = options.path ?? "/";
  const maxPercent = options.maxPercent ?? 90;
  if (!(maxPercent > 0 && maxPercent <= 100)) throw new TypeError(`probekit/checks/system: maxPercent must be in (0, 100], got ${maxPercent}`);
  return builtinCheck(options, { name: "disk", componentType: "system" }, async () => {
    const { statfs } = await nodeBuiltins();
    let stats: Awaited<ReturnType<typeof statfs>>;
    try {
      stats = await statfs(path);
    } catch (error) {
      throw new ServiceUnavailable(`cannot measure ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`, { cause: error });
    }
    const used = Number(stats.blocks) - Number(stats.bfree);
    const usable = used + Number(stats.bavail);
    const percent = usable === 0 ? 0 : Math.round((used / usable) * 1000) / 10;
    if (percent >= maxPercent) throw new ServiceWarning(`${path} is ${percent}% full (max ${maxPercent}%)`);
    return { observedValue: percent, observedUnit: "percent", output: `${percent}% used` };
  });
}

export interface MemoryOptions extends CommonCheckOptions {
  /**
   * Warn when less than this many megabytes are available.
   * @default 100
   */
  minAvailableMb?: number;
  /**
   * Where cgroup file systems are mounted; a test seam.
   * @default "/sys/fs/cgroup"
   */
  cgroupRoot?: string;
  /**
   * Which cgroup this process is in; a test seam.
   * @default "/proc/self/cgroup"
   */
  procSelfCgroup?: string;
}

/**
 * Warns when less than `minAvailableMb` of memory is available. In a container
 * (cgroup v2 or v1 with a memory limit) that is the limit minus the working set,
 * as the kubelet counts it (usage minus inactive file cache); otherwise, or when
 * the machine has less, the machine's available memory.
 *
 * @example
 * memory({ minAvailableMb: 256 });
 */
export function memory(options: MemoryOptions = {}): Check {
  const minAvailableMb = options.minAvailableMb ?? 100;
  if (!(minAvailableMb >= 0)) throw new TypeError(`probekit/checks/system: minAvailableMb must be >= 0, got ${minAvailableMb}`);
  const cgroupRoot = options.cgroupRoot ?? "/sys/fs/cgroup";
  const procSelfCgroup = options.procSelfCgroup ?? "/proc/self/cgroup";
  return builtinCheck(options, { name: "memory", componentType: "system" }, async () => {
    const node = await nodeBuiltins();
    const container = containerMemory(node, cgroupRoot, procSelfCgroup);
    const machine = node.freemem();
    const available = container === undefined ? machine : Math.min(machine, container);
    const mb = Math.floor(available / 2 ** 20);
    const where = container === undefined || machine < container ? "" : " in the container";
    if (mb < minAvailableMb) throw new ServiceWarning(`${mb} MB available${where} (min ${minAvailableMb} MB)`);
    return { observedValue: mb, observedUnit: "MB", output: `${mb} MB available${where}` };
  });
}

interface Builtins {
  readFileSync: typeof readFileSync;
  statfs: typeof statfs;
  freemem: typeof freemem;
  join: typeof join;
}

let builtins: Promise<Builtins> | undefined;

/**
 * The four Node built-ins this file uses, taken on a check's first run, not imported:
 * importing `node:fs` as an ES module builds its namespace of every export, and the
 * lazy ones (`ReadStream`) load more of Node. In the cold-start bench that is 0.25 ms
 * of the unbundled route and 0.6 ms of the bundled one. `process.getBuiltinModule`
 * (Node 20.16 and 22.3) hands over the module itself; an older Node imports it.
 */
function nodeBuiltins(): Promise<Builtins> {
  return (builtins ??= (async () => {
    const [fs, fsPromises, os, path] =
      typeof process.getBuiltinModule === "function"
        ? [process.getBuiltinModule("node:fs"), process.getBuiltinModule("node:fs/promises"), process.getBuiltinModule("node:os"), process.getBuiltinModule("node:path")]
        : await Promise.all([import("node:fs"), import("node:fs/promises"), import("node:os"), import("node:path")]);
    return { readFileSync: fs.readFileSync, statfs: fsPromises.statfs, freemem: os.freemem, join: path.join };
  })());
}

// cgroup v1 reports "no limit" as a page-rounded 2^63-1.
const UNLIMITED = 2 ** 62;

/**
 * /proc and /sys/fs/cgroup are kernel memory, never a disk or a network: read
 * synchronously, the ten-odd files cost ~0.3 ms where fs/promises takes ~2 ms of
 * thread-pool round trips (a cold start's first probe waits for them). The disk
 * check's statfs stays asynchronous: its path may be a network mount that hangs.
 */
function readSmall(node: Builtins, file: string): string | undefined {
  try {
    return node.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** Bytes available under this process's cgroup memory limit, or undefined when there is no limit. */
function containerMemory(node: Builtins, root: string, procSelfCgroup: string): number | undefined {
  const membership = readSmall(node, procSelfCgroup) ?? "";
  for (const line of membership.split("\n")) {
    const [, controllers = "", path = "/"] = line.split(":");
    const v2 = line.startsWith("0::");
    if (!v2 && !controllers.split(",").includes("memory")) continue;
    // Inside a container the cgroup namespace usually maps its own cgroup to the mount root.
    const base = v2 ? root : node.join(root, "memory");
    for (const dir of path === "/" ? [base] : [node.join(base, path), base]) {
      const limits = v2
        ? readLimits(node, dir, "memory.max", "memory.current", "inactive_file")
        : readLimits(node, dir, "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file");
      if (limits === undefined) continue;
      if (limits.limit === undefined) return undefined;
      return Math.max(0, limits.limit - Math.max(0, limits.usage - limits.inactiveFile));
    }
  }
  return undefined;
}

function readLimits(node: Builtins, dir: string, limitFile: string, usageFile: string, inactiveKey: string) {
  const [limitText, usageText, stat] = [limitFile, usageFile, "memory.stat"].map((file) => readSmall(node, node.join(dir, file)));
  if (limitText === undefined || usageText === undefined) return undefined;
  const raw = limitText.trim();
  const limit = raw === "max" || Number(raw) >= UNLIMITED ? undefined : Number(raw);
  const inactive = new RegExp(`^${inactiveKey} (\\d+)$`, "m").exec(stat ?? "")?.[1];
  return { limit, usage: Number(usageText.trim()), inactiveFile: inactive === undefined ? 0 : Number(inactive) };
}
