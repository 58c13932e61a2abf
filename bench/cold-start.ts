/**
 * Cold start: what a health route adds to a serverless cold start (issue #12).
 *
 * A route module with `createHealthRoute` and three checks from three entries
 * (`memory`, `diskUsage`, `postgresHeartbeat`), against a bare route answering the
 * same Request with a constant JSON body — each in a fresh `node` process that
 * imports the module, answers one GET /healthcheck/readiness and exits. Two ways:
 *
 * - unbundled: the module imports `probekit` from node_modules, as Node loads a
 *   server-external package (`serverExternalPackages`, or any Node server);
 * - bundled: the same module bundled by esbuild, as Next bundles a route: one file for
 *   the route, and what it imports on demand (the drivers' `import()`s) in chunks loaded
 *   when first run, as webpack's and Turbopack's chunks are.
 *
 * Alternating in one loop; medians of wall time and of the process's peak RSS.
 * Targets: unbundled ≤ +10 ms and ≤ +3 MiB over the bare route; bundled ≤ +5 ms.
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, REPO } from "./lib.ts";

const HEALTH_ROUTE = `import { defineHealthConfig } from "probekit";
import { createHealthRoute } from "probekit/next";
import { postgresHeartbeat } from "probekit/checks/postgres";
import { diskUsage, memory } from "probekit/checks/system";

const config = defineHealthConfig({
  subsets: {
    readiness: [memory(), diskUsage({ critical: false })],
    integrations: [postgresHeartbeat({ url: process.env.DATABASE_URL })],
  },
});
export const { GET, HEAD } = createHealthRoute(config);
`;

const BARE_ROUTE = `export async function GET(request) {
  const subset = new URL(request.url).pathname.split("/").pop();
  return Response.json({ status: "pass", checks: { [subset]: [{ status: "pass" }] } }, { headers: { "cache-control": "no-store" } });
}
`;

/** Imports the route, answers one request, reports its peak RSS (KiB) on stdout. */
const RUNNER = (file: string) => `const { GET } = await import(${JSON.stringify(file)});
const response = await GET(new Request("http://localhost/healthcheck/readiness"), { params: Promise.resolve({ subset: "readiness" }) });
if (response.status !== 200) { console.error(response.status, await response.text()); process.exit(1); }
await response.text();
process.stdout.write(String(process.resourceUsage().maxRSS));
`;

interface Contender {
  name: string;
  script: string;
  cwd: string;
  ms: number[];
  rssKiB: number[];
}

function run(contender: Contender): void {
  const started = process.hrtime.bigint();
  const child = spawnSync(process.execPath, [contender.script], { cwd: contender.cwd, encoding: "utf8", env: { ...process.env, NODE_ENV: "production" } });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (child.status !== 0) throw new Error(`${contender.name} exited ${child.status}: ${child.stderr}`);
  contender.ms.push(ms);
  contender.rssKiB.push(Number(child.stdout));
}

export interface ColdStartRow {
  contender: string;
  medianMs: number;
  medianRssMiB: number;
  /** Over the bare route of the same way (unbundled or bundled). */
  addedMs?: number;
  addedMiB?: number;
  target?: string;
  met?: boolean;
}

export async function measureColdStart(rounds: number): Promise<ColdStartRow[]> {
  const root = await mkdtemp(join(tmpdir(), "probekit-cold-"));
  await mkdir(join(root, "node_modules"));
  await symlink(REPO, join(root, "node_modules", "probekit"));
  await writeFile(join(root, "package.json"), `{ "type": "module" }\n`);
  await writeFile(join(root, "health-route.mjs"), HEALTH_ROUTE);
  await writeFile(join(root, "bare-route.mjs"), BARE_ROUTE);
  const { build } = await import("esbuild");
  for (const name of ["health-route", "bare-route"]) {
    // As Next bundles a route for the Node runtime: everything in, Node built-ins out.
    await build({ entryPoints: { [`${name}.bundled`]: join(root, `${name}.mjs`) }, outdir: root, bundle: true, splitting: true, chunkNames: "chunks/[name]-[hash]", outExtension: { ".js": ".mjs" }, platform: "node", format: "esm", minify: true, logLevel: "error" });
  }
  const contenders: Contender[] = [];
  for (const file of ["bare-route.mjs", "health-route.mjs", "bare-route.bundled.mjs", "health-route.bundled.mjs"]) {
    const script = join(root, `run-${file}`);
    await writeFile(script, RUNNER(`./${file}`));
    contenders.push({ name: file.replace(".mjs", "").replace(".bundled", " (bundled)"), script, cwd: root, ms: [], rssKiB: [] });
  }
  for (const contender of contenders) run(contender); // warm the disk cache
  for (let round = 0; round < rounds; round++) for (const contender of contenders) run(contender);

  const rows = contenders.map((contender) => ({ contender: contender.name, medianMs: median(contender.ms), medianRssMiB: median(contender.rssKiB) / 1024 }));
  const [bare, health, bareBundled, healthBundled] = rows as [ColdStartRow, ColdStartRow, ColdStartRow, ColdStartRow];
  const added = (row: ColdStartRow, reference: ColdStartRow, maxMs: number, maxMiB?: number) => {
    row.addedMs = row.medianMs - reference.medianMs;
    row.addedMiB = row.medianRssMiB - reference.medianRssMiB;
    row.target = maxMiB === undefined ? `≤ +${maxMs} ms` : `≤ +${maxMs} ms, ≤ +${maxMiB} MiB`;
    row.met = row.addedMs <= maxMs && (maxMiB === undefined || row.addedMiB <= maxMiB);
  };
  added(health, bare, 10, 3);
  added(healthBundled, bareBundled, 5);
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await measureColdStart(Number(process.argv[2] ?? 20));
  for (const row of rows) {
    const extra = row.addedMs === undefined ? "" : `  +${row.addedMs.toFixed(1)} ms, +${row.addedMiB!.toFixed(1)} MiB (${row.target}: ${row.met ? "met" : "MISSED"})`;
    console.log(`${row.contender.padEnd(26)} ${row.medianMs.toFixed(1).padStart(7)} ms ${row.medianRssMiB.toFixed(1).padStart(6)} MiB${extra}`);
  }
}
