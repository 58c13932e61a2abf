/** Reads a `node --cpu-prof` profile and lists the functions with the most self time. */
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { REPO } from "./dist.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * `share%  ms  function  file:line`, hottest first, then the self time of
 * probekit's own files (dist/) by file; idle time is left out of the shares.
 */
export async function hottestFunctions(file: string, count: number): Promise<string[]> {
  const profile = JSON.parse(await readFile(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<string, number>();
  const distUs = new Map<string, number>();
  let busyUs = 0;
  profile.samples.forEach((id, index) => {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === "(idle)") return;
    const delta = profile.timeDeltas[index] ?? 0;
    const path = where(frame.url, frame.lineNumber);
    const key = `${frame.functionName || "(anonymous)"}  ${path}`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + delta);
    if (path.startsWith("dist/")) {
      const distFile = path.slice(0, path.lastIndexOf(":"));
      distUs.set(distFile, (distUs.get(distFile) ?? 0) + delta);
    }
    busyUs += delta;
  });
  const line = (us: number, what: string) => `${((us / busyUs) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${what}`;
  const hottest = [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, count).map(([key, us]) => line(us, key));
  if (distUs.size === 0) return hottest;
  const distTotal = [...distUs.values()].reduce((sum, us) => sum + us, 0);
  return [
    ...hottest,
    line(distTotal, "all of probekit's own code (dist/), by file:"),
    ...[...distUs].sort((a, b) => b[1] - a[1]).map(([path, us]) => `  ${line(us, path)}`),
  ];
}

function where(url: string, line: number): string {
  if (url === "") return "";
  const path = url.startsWith("file:") ? relative(REPO, fileURLToPath(url)) : url;
  return `${path}:${line + 1}`;
}

/** A process's CPU time (ms) by what spent it. */
export interface CpuBreakdown {
  /** V8 compiling the ES modules' source as Node loads them (node's compileSourceTextModule). */
  compileMs: number;
  /** Self time of the code `isOwnCode` names: its functions' run and their lazy compile on first call. */
  ownCodeMs: number;
  garbageCollectorMs: number;
  /** The rest of Node's own JavaScript: the loader's resolving and reading, fs, undici's Request and Response. */
  nodeMs: number;
  /** Everything else: V8 outside any function, native frames, the code not named own. */
  otherMs: number;
}

export const CPU_BREAKDOWN_KEYS = ["compileMs", "ownCodeMs", "garbageCollectorMs", "nodeMs", "otherMs"] as const satisfies readonly (keyof CpuBreakdown)[];

/** A {@link CpuBreakdown} of zeros, to add to. */
export function emptyBreakdown(): CpuBreakdown {
  return Object.fromEntries(CPU_BREAKDOWN_KEYS.map((key) => [key, 0])) as unknown as CpuBreakdown;
}

/** Sorts a `node --cpu-prof` profile's busy time into a {@link CpuBreakdown}. */
export async function cpuBreakdown(file: string, isOwnCode: (url: string) => boolean): Promise<CpuBreakdown> {
  const profile = JSON.parse(await readFile(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const us = emptyBreakdown();
  profile.samples.forEach((id, index) => {
    const { functionName, url } = byId.get(id)!.callFrame;
    if (functionName === "(idle)") return;
    const delta = profile.timeDeltas[index] ?? 0;
    if (functionName === "(garbage collector)") us.garbageCollectorMs += delta;
    else if (url.startsWith("node:") && functionName === "compileSourceTextModule") us.compileMs += delta;
    else if (url.startsWith("node:")) us.nodeMs += delta;
    else if (url !== "" && isOwnCode(url)) us.ownCodeMs += delta;
    else us.otherMs += delta;
  });
  for (const key of CPU_BREAKDOWN_KEYS) us[key] /= 1000;
  return us;
}

/** The largest profile in a --cpu-prof-dir: the main thread's, which served the requests. */
export async function mainThreadProfile(dir: string): Promise<string | undefined> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((file) => file.endsWith(".cpuprofile")).map((file) => join(dir, file));
  } catch {
    return undefined;
  }
  const sizes = await Promise.all(files.map(async (file) => ({ file, size: (await stat(file)).size })));
  return sizes.sort((a, b) => b.size - a.size)[0]?.file;
}
