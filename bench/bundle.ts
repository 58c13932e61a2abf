/**
 * 7. Bundle weight: what `probekit/middleware`, and `probekit` + `probekit/next`,
 * add to an edge bundle, minified and gzipped, bundled from the built package
 * the way an edge platform does (test/helpers/edge-bundle.ts).
 */
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { EDGE_BUILD_OPTIONS } from "../test/helpers/edge-bundle.ts";
import { REPO, VERDICT_COLUMNS, type Row, type SectionResult } from "./lib.ts";

/** An app's entry with the probekit import, and the same entry without it. */
const ENTRIES = {
  baseline: `export default function proxy(request) { return undefined; }`,
  middleware: `import { withLiveness } from "probekit/middleware";
export default withLiveness();`,
  route: `import { defineCheck, defineHealthConfig } from "probekit";
import { createHealthRoute } from "probekit/next";
const config = defineHealthConfig({ subsets: { readiness: [defineCheck({ name: "upstream", check: () => {} })] } });
export const { GET, HEAD } = createHealthRoute(config);`,
};

/** zod's own identifiers, which survive minification. */
const ZOD_CODE = /\$ZodType|ZodError|_zod\b|\$constructor/;

interface Bundle {
  bytes: number;
  gzip: number;
  inputs: string[];
  /** Minified bytes by origin: probekit's dist/, each package in node_modules, the entry. */
  bytesByOrigin: Record<string, number>;
  zod: boolean;
}

async function bundle(contents: string, resolveDir: string): Promise<Bundle> {
  const result = await build({ ...EDGE_BUILD_OPTIONS, stdin: { contents, resolveDir, sourcefile: "entry.js" }, minify: true, format: "esm", metafile: true });
  const code = result.outputFiles[0]!.text;
  const inputs = Object.keys(result.metafile.inputs);
  const bytesByOrigin: Record<string, number> = {};
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const origin = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? (input.includes("dist/") ? "probekit (dist/)" : "entry");
      bytesByOrigin[origin] = (bytesByOrigin[origin] ?? 0) + bytesInOutput;
    }
  }
  return {
    bytes: Buffer.byteLength(code),
    gzip: gzipSync(code, { level: 9 }).length,
    inputs,
    bytesByOrigin,
    zod: ZOD_CODE.test(code) || inputs.some((input) => input.includes("node_modules/zod/")),
  };
}

export async function bundleSection(): Promise<SectionResult> {
  // An app folder whose node_modules/probekit is this repo, so the package's exports map is what resolves.
  const app = await mkdtemp(join(tmpdir(), "probekit-bench-bundle-"));
  try {
    await mkdir(join(app, "node_modules"));
    await symlink(REPO, join(app, "node_modules", "probekit"));
    const baseline = await bundle(ENTRIES.baseline, app);
    const middleware = await bundle(ENTRIES.middleware, app);
    const route = await bundle(ENTRIES.route, app);
    const row = (label: string, measured: Bundle, target: string | null, met: boolean | null): Row => ({
      contender: label,
      bytes: measured.bytes - baseline.bytes,
      gzip: measured.gzip - baseline.gzip,
      files: measured.inputs.length - 1,
      zod: measured.zod,
      target,
      met,
    });
    return {
      id: "bundle",
      title: "7. Edge bundle weight (esbuild, platform neutral, edge-light/worker/browser conditions, minified)",
      columns: [
        { key: "contender", label: "import" },
        { key: "bytes", label: "added B" },
        { key: "gzip", label: "added B gz" },
        { key: "files", label: "files" },
        { key: "zod", label: "zod" },
        ...VERDICT_COLUMNS,
      ],
      rows: [
        row("probekit/middleware (withLiveness)", middleware, "≤ 1024 B gz, no zod", middleware.gzip - baseline.gzip <= 1024 && !middleware.zod),
        row("probekit + probekit/next (createHealthRoute)", route, "report only", null),
      ],
      notes: [
        `added: bytes of the bundle minus those of the same entry without probekit (${baseline.bytes} B, ${baseline.gzip} B gzipped, level 9).`,
        "zod: zod's files among the bundle's inputs, or its identifiers in the code.",
        `probekit + probekit/next by origin (minified bytes): ${Object.entries(route.bytesByOrigin)
          .sort((a, b) => b[1] - a[1])
          .map(([origin, bytes]) => `${origin} ${bytes}`)
          .join(", ")}.`,
      ],
      details: { baseline, middleware, route },
    };
  } finally {
    await rm(app, { recursive: true, force: true });
  }
}
