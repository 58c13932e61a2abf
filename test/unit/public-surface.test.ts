/**
 * The public surface is listed, not globbed: package.json names each entry, each
 * entry exports exactly these names (adding one is a conscious act: add it here), and
 * nothing else of the package can be imported.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

const PUBLIC: Record<string, string[]> = {
  ".": [
    "HealthCheckError", "HealthConfigError", "METRICS_CONTENT_TYPES", "METRIC_NAMES", "NO_STORE", "ServiceReturnedUnexpectedResult", "ServiceUnavailable",
    "ServiceWarning", "UnknownSubsetError", "answerHealthRequest", "closeHealthChecks", "defineCheck", "defineHealthConfig", "diagnoseHealthConfig",
    "handleHealthRequest", "handleMetricsRequest", "isCheck", "isHealthCheckError", "isHealthConfig", "isShuttingDown", "negotiateFormat", "runHealthChecks",
    "setShuttingDown", "startHealthRefresh", "toHealthHtml", "toHealthJson", "toMetricsText",
  ],
  "./next": ["createHealthRoute", "createMetricsRoute"],
  "./middleware": ["LIVENESS_BODY", "LIVENESS_HEADER", "LIVENESS_HEADERS", "isLivenessPath", "liveness", "withLiveness"],
  "./node": ["createNodeHandler", "installShutdownDrain", "isShuttingDown", "setShuttingDown"],
  "./otel": ["registerHealthMetrics"],
  "./checks/bullmq": ["bullmqWorkers"],
  "./checks/dns": ["dnsResolve"],
  "./checks/edge-config": ["edgeConfig"],
  "./checks/file-heartbeat": ["fileHeartbeat", "startFileHeartbeat"],
  "./checks/heartbeat": ["clusterHeartbeat", "fileHeartbeat", "localHeartbeat", "publishHeartbeat", "startFileHeartbeat"],
  "./checks/ioredis": ["cacheRoundtrip", "clusterHeartbeat", "localHeartbeat", "publishHeartbeat", "redisPing"],
  "./checks/node-redis": ["cacheRoundtrip", "clusterHeartbeat", "localHeartbeat", "publishHeartbeat", "redisPing"],
  "./checks/http": ["httpEndpoint"],
  "./checks/migrations": ["pendingMigrations"],
  "./checks/memcached": ["memcachedRoundtrip"],
  "./checks/mysql": ["mysqlHeartbeat", "pendingMigrations"],
  "./checks/nats": ["natsPing"],
  "./checks/neon": ["neonHeartbeat"],
  "./checks/postgres": ["postgresHeartbeat"],
  "./checks/prisma": ["prismaHeartbeat"],
  "./checks/rabbitmq": ["rabbitmq"],
  "./checks/redis": ["cacheRoundtrip", "redisPing"],
  "./checks/status-page": ["statusPage"],
  "./checks/storage": ["fileStorage"],
  "./checks/system": ["diskUsage", "memory"],
  "./checks/tls": ["tlsCertificate"],
  "./checks/upstash": ["cacheRoundtrip", "clusterHeartbeat", "redisPing"],
};

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { name: string; exports: Record<string, string | { types: string; default: string }> };

describe("the public surface", () => {
  it("package.json lists each entry by name (no wildcard), each with its types", () => {
    assert.deepEqual(Object.keys(pkg.exports).sort(), [...Object.keys(PUBLIC), "./package.json"].sort());
    for (const [key, target] of Object.entries(pkg.exports)) {
      assert.ok(!key.includes("*"), key);
      if (key === "./package.json") continue;
      assert.ok(typeof target === "object" && target.types.endsWith(".d.ts") && target.default.startsWith("./dist/"), key);
    }
  });

  for (const [entry, names] of Object.entries(PUBLIC)) {
    it(`${entry} exports exactly its public names`, async () => {
      const target = pkg.exports[entry] as { default: string };
      const module = (await import(new URL(`../../${target.default.replace("./dist/", "src/").replace(/\.js$/, ".ts")}`, import.meta.url).href)) as Record<string, unknown>;
      assert.deepEqual(Object.keys(module).sort(), [...names].sort());
    });
  }

  it("internals are not importable: only the listed entries resolve", () => {
    for (const hidden of ["internal/redis", "internal/postgres", "checks/index", "core/runner", "checks/../internal/redis", "dist/internal/redis.js", "cli/index"]) {
      assert.throws(() => import.meta.resolve(`${pkg.name}/${hidden}`), (error: NodeJS.ErrnoException) => error.code === "ERR_PACKAGE_PATH_NOT_EXPORTED" || error.code === "ERR_INVALID_MODULE_SPECIFIER", hidden);
    }
    assert.match(import.meta.resolve(`${pkg.name}/checks/postgres`), /\/dist\/checks\/postgres\.js$/);
  });

  it("the README's API table names every entry, and every check entry in its checks row", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const table = readme.slice(readme.indexOf("## API"), readme.indexOf("\n## ", readme.indexOf("## API") + 1));
    const checksRow = table.split("\n").find((line) => line.startsWith("| `probekit/checks/<name>`"));
    assert.ok(checksRow, "no probekit/checks/<name> row in the API table");
    for (const entry of Object.keys(PUBLIC)) {
      if (entry.startsWith("./checks/")) assert.ok(checksRow.includes(`\`${entry.slice("./checks/".length)}\``), `${entry} is not in the API table's checks row`);
      else assert.ok(table.includes(`| \`${pkg.name}${entry.slice(1)}\` |`), `${entry} has no row in the API table`);
    }
  });
});
