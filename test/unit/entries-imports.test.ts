/**
 * Each public entry of the built dist/ reaches only its own driver: every package its
 * files import, statically or with a written-out `import()` — which Turbopack and webpack
 * resolve, so an app without that package fails `next build` — listed by esbuild's
 * metafile, shared chunks included. Runs against the build `npm test` makes first.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { exports: Record<string, { default: string } | string> };

/** What each entry may import besides Node's built-ins and its own dist files: the README's "only its own driver". */
const PACKAGES_BY_ENTRY: Record<string, string[]> = {
  ".": [],
  "./next": [],
  "./middleware": [],
  "./node": [],
  "./otel": ["@opentelemetry/api"],
  "./checks/bullmq": ["bullmq"],
  "./checks/dns": [],
  "./checks/edge-config": ["@vercel/edge-config"],
  "./checks/file-heartbeat": [],
  // The two older entries that bring every Redis driver (README: leave probekit unbundled with them).
  "./checks/heartbeat": ["@upstash/redis", "ioredis", "redis"],
  "./checks/redis": ["@upstash/redis", "ioredis", "redis"],
  "./checks/http": [],
  "./checks/ioredis": ["ioredis"],
  "./checks/memcached": ["memjs"],
  "./checks/migrations": ["postgres"],
  "./checks/mysql": ["mysql2"],
  // nats v2 comes in only as the app's own `connect`.
  "./checks/nats": ["@nats-io/transport-node"],
  "./checks/neon": ["@neondatabase/serverless"],
  "./checks/node-redis": ["redis"],
  "./checks/postgres": ["postgres"],
  "./checks/prisma": [],
  "./checks/rabbitmq": ["amqplib"],
  "./checks/status-page": [],
  "./checks/storage": [],
  "./checks/system": [],
  "./checks/tls": [],
  "./checks/upstash": ["@upstash/redis"],
};

const packageOf = (specifier: string) => specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/");

/** The packages the entry's files import, by how (`import-statement`, `dynamic-import`, `require-call`, …). */
async function packagesReached(entry: string): Promise<Map<string, Set<string>>> {
  const { metafile } = await build({ entryPoints: [entry], bundle: true, platform: "node", format: "esm", packages: "external", write: false, metafile: true, logLevel: "silent" });
  const reached = new Map<string, Set<string>>();
  for (const input of Object.values(metafile.inputs)) {
    for (const imported of input.imports) {
      if (!imported.external || isBuiltin(imported.path)) continue;
      const name = packageOf(imported.path);
      reached.set(name, (reached.get(name) ?? new Set()).add(imported.kind));
    }
  }
  return reached;
}

const entries = Object.entries(pkg.exports).flatMap(([subpath, target]) => (typeof target === "object" ? [[subpath, join(REPO, target.default)] as const] : []));

describe("the packages each dist entry imports", () => {
  it("every public entry has its expected packages listed here", () => {
    assert.deepEqual(entries.map(([subpath]) => subpath).sort(), Object.keys(PACKAGES_BY_ENTRY).sort());
    const missing = entries.filter(([, file]) => !existsSync(file)).map(([, file]) => file);
    assert.deepEqual(missing, [], "dist/ is not built: npm run build (npm test does)");
  });

  for (const [subpath, file] of entries) {
    const expected = PACKAGES_BY_ENTRY[subpath] ?? [];
    it(`probekit${subpath.slice(1)} imports ${expected.length === 0 ? "no package" : `only ${expected.join(", ")}`}${subpath.startsWith("./checks/") && expected.length > 0 ? ", and only by import() when a check runs" : ""}`, async () => {
      const reached = await packagesReached(file);
      assert.deepEqual([...reached.keys()].sort(), expected);
      if (subpath.startsWith("./checks/")) {
        for (const [name, kinds] of reached) assert.deepEqual([...kinds], ["dynamic-import"], `${name} is imported by ${[...kinds].join(", ")}`);
      }
    });
  }
});
