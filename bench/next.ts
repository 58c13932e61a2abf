/**
 * 4. Next.js: a small app on the packed tarball (what `npm install probekit`
 * gives), built and run with `next start`, in bench/results/next-app (git-ignored;
 * its node_modules stay between runs). Compares the readiness route
 * (createHealthRoute, three no-op checks) with a hand-written route sending the
 * same JSON, and the liveness short-circuit in proxy.js with a static route.
 */
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { freePort } from "../test/helpers/net.ts";
import { childEnv, MINUTE, nextBin, packTarball, routeTable, runCommand, startServer, stopProcessGroup } from "../test/helpers/next-app.ts";
import { constantAnswer, importDist, JSON_HEADERS, noopReadinessConfig, type Core } from "./dist.ts";
import { alternate, pairedRatio, probe, progress, round, VERDICT_COLUMNS, type BenchSettings, type HttpContender, type Row, type SectionResult } from "./lib.ts";
import { describeLoad, THROUGHPUT_COLUMNS, THROUGHPUT_NOTES, throughputRow } from "./http.ts";

const APP_DEPENDENCIES = { next: "^16", react: "^19", "react-dom": "^19" };
const LIVENESS_BODY = '{"status":"ok"}';
/** The route each contender is served by, as next build lists it (liveness is answered by the proxy). */
const ROUTE_OF: Record<string, string | undefined> = {
  plain: "/plain",
  "plain-segment": "/plain-segment/[subset]",
  "subset-route": "/healthcheck/[subset]",
  "fixed-route": "/fixed-readiness",
  "static-liveness": "/static-liveness",
};

/**
 * The app's files; plain/route.js sends `constant` (probekit's own answer) as
 * literals. JavaScript, not TypeScript: the root tsconfig type-checks bench/,
 * and Next compiles either to the same code.
 */
function appFiles(constant: { body: string; headers: Record<string, string> }): Record<string, string> {
  const plainResponse = `const BODY = ${JSON.stringify(constant.body)};
const HEADERS = ${JSON.stringify(constant.headers)};
`;
  return {
    "next.config.mjs": `// The app sits inside the probekit repo, whose lockfile would otherwise become the workspace root.
export default { turbopack: { root: import.meta.dirname } };
`,
    "health.config.js": `import { defineCheck, defineHealthConfig } from "probekit";

export default defineHealthConfig({
  subsets: {
    readiness: [
      defineCheck({ name: "database", check: () => {} }),
      defineCheck({ name: "cache", check: () => {} }),
      defineCheck({ name: "queue", check: () => {} }),
    ],
  },
  logger: false,
});
`,
    "proxy.js": `import { withLiveness } from "probekit/middleware";

export default withLiveness();
// Only liveness: the other routes are measured without a proxy in front.
export const config = { matcher: ["/healthcheck/liveness"] };
`,
    "app/layout.jsx": `export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
`,
    "app/healthcheck/[subset]/route.js": `import config from "../../../health.config.js";
import { createHealthRoute } from "probekit/next";

export const { GET, HEAD } = createHealthRoute(config);
`,
    "app/fixed-readiness/route.js": `import config from "../../health.config.js";
import { createHealthRoute } from "probekit/next";

export const { GET, HEAD } = createHealthRoute(config, { subset: "readiness" });
`,
    "app/plain/route.js": `// What probekit's readiness route answers, written by hand: the ceiling of a dynamic route.
export const dynamic = "force-dynamic";

${plainResponse}
export function GET() {
  return new Response(BODY, { status: 200, headers: HEADERS });
}
`,
    "app/plain-segment/[subset]/route.js": `// The same by hand behind a dynamic segment, as app/healthcheck/[subset] is: what the segment itself costs.
export const dynamic = "force-dynamic";

${plainResponse}
export async function GET(_request, { params }) {
  await params;
  return new Response(BODY, { status: 200, headers: HEADERS });
}
`,
    "app/static-liveness/route.js": `// A liveness answer prerendered at build time: Next's fastest route.
export const dynamic = "force-static";

export function GET() {
  return new Response(${JSON.stringify(LIVENESS_BODY)}, { headers: { "Content-Type": "application/json" } });
}
`,
  };
}

/** Writes the app afresh (keeping node_modules), installs it with a new tarball, builds it. */
async function prepareApp(dir: string, files: Record<string, string>): Promise<{ buildOutput: string; installS: number; buildS: number }> {
  await mkdir(dir, { recursive: true });
  // The tarball changes with every build of dist/: everything but node_modules goes, and probekit in it.
  for (const entry of await readdir(dir)) if (entry !== "node_modules") await rm(join(dir, entry), { recursive: true, force: true });
  await rm(join(dir, "node_modules/probekit"), { recursive: true, force: true });
  const tarball = await packTarball(dir);
  for (const [file, contents] of Object.entries(files)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), contents);
  }
  const packageJson = { name: "probekit-bench-next-app", private: true, dependencies: { probekit: `file:${tarball}`, ...APP_DEPENDENCIES } };
  await writeFile(join(dir, "package.json"), `${JSON.stringify(packageJson, null, 2)}\n`);

  let started = Date.now();
  await runCommand("npm install", "npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: dir, timeoutMs: 10 * MINUTE });
  const installS = (Date.now() - started) / 1000;
  started = Date.now();
  const build = await runCommand("next build", process.execPath, [nextBin(dir), "build"], { cwd: dir, timeoutMs: 10 * MINUTE });
  const buildS = (Date.now() - started) / 1000;
  return { buildOutput: build.all, installS, buildS };
}

export async function nextSection(settings: BenchSettings, resultsDir: string): Promise<SectionResult> {
  const core = await importDist<Core>("index.js");
  const constant = await constantAnswer(core, noopReadinessConfig(core));
  const dir = join(resultsDir, "next-app");
  progress(`next: preparing ${dir} (npm pack, npm install, next build)`);
  const { buildOutput, installS, buildS } = await prepareApp(dir, appFiles({ body: constant.body!, headers: constant.headers }));
  const routes = Object.fromEntries(routeTable(buildOutput));
  const nextVersion = (JSON.parse(await readFile(join(dir, "node_modules/next/package.json"), "utf8")) as { version: string }).version;

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { server } = await startServer(process.execPath, [nextBin(dir), "start", "-H", "127.0.0.1", "-p", String(port)], { cwd: dir, env: childEnv(), readyUrl: `${base}/plain` });
  const contenders: HttpContender[] = [
    { name: "plain", path: "/plain" },
    { name: "plain-segment", path: "/plain-segment/readiness" },
    { name: "subset-route", path: "/healthcheck/readiness" },
    { name: "fixed-route", path: "/fixed-readiness" },
    { name: "static-liveness", path: "/static-liveness" },
    { name: "proxy-liveness", path: "/healthcheck/liveness" },
  ].map(({ name, path }) => ({ name, url: `${base}${path}`, headers: JSON_HEADERS, serverGroup: server.pid }));
  let samples: Awaited<ReturnType<typeof alternate>>;
  const bodies: Record<string, number> = {};
  try {
    for (const contender of contenders) {
      const answer = await probe(contender);
      bodies[contender.name] = answer.bodyBytes;
      if (contender.name === "proxy-liveness" && answer.headers.get("x-probekit-liveness") !== "short-circuit") {
        throw new Error("next: /healthcheck/liveness was not answered by the proxy's short-circuit");
      }
    }
    samples = await alternate("next", contenders, settings);
  } finally {
    await stopProcessGroup(server);
  }

  const measured = (name: string) => ({ samples: samples.get(name)!, bodyBytes: bodies[name]! });
  const row = (label: string, name: string, reference: string, target: { min: number; text: string } | undefined): Row => ({
    ...throughputRow(label, measured(name), measured(reference), target),
    route: ROUTE_OF[name] === undefined ? "proxy" : (routes[ROUTE_OF[name]] ?? null),
    target: target?.text ?? (name === reference ? null : "report only"),
  });
  const perSecond = (name: string) => samples.get(name)!.map((sample) => sample.reqPerSec);
  const segmentRatio = pairedRatio(perSecond("subset-route"), perSecond("plain-segment"));
  return {
    id: "next",
    title: `4. Next.js ${nextVersion}, next start (${describeLoad(settings)})`,
    columns: [THROUGHPUT_COLUMNS[0]!, { key: "route", label: "build" }, ...THROUGHPUT_COLUMNS.slice(1), ...VERDICT_COLUMNS],
    rows: [
      row("app/plain/route.js, same JSON (reference)", "plain", "plain", undefined),
      row("by hand behind a segment, plain-segment/[subset]", "plain-segment", "plain", undefined),
      row("createHealthRoute, app/healthcheck/[subset]", "subset-route", "plain", undefined),
      row("  the same ÷ by hand behind a segment", "subset-route", "plain-segment", { min: 0.98, text: "≥ 0.98× by hand" }),
      row("createHealthRoute, fixed subset", "fixed-route", "plain", { min: 0.95, text: "≥ 0.95×" }),
      row("static route handler (reference)", "static-liveness", "static-liveness", undefined),
      row("withLiveness in proxy.js", "proxy-liveness", "static-liveness", undefined),
    ],
    notes: [
      ...THROUGHPUT_NOTES,
      "The reference of the readiness routes is app/plain/route.js (force-dynamic); of liveness, the static route handler.",
      `build: next build's route symbol (ƒ dynamic, ○ static). npm install ${installS.toFixed(0)} s, next build ${buildS.toFixed(0)} s.`,
    ],
    details: { installS, buildS, routes, segmentRatio: round(segmentRatio, 3), samples: Object.fromEntries(samples) },
  };
}
