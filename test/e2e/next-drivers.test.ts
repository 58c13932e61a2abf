/**
 * No Next.js config to add: apps that install only the driver they use (only
 * `postgres`, only `ioredis`, only `@upstash/redis`), importing the built-in checks
 * the README shows for it, pass `next build` with Turbopack and with webpack on
 * Next 15 and 16 **without** `serverExternalPackages`, serve their probes from
 * the `output: "standalone"` server — copied outside the app, so the driver can only
 * come from what the build traced or bundled — against the real service, and that
 * folder holds no driver they did not install.
 *
 * Slow: six installs and twelve builds. Needs dist/ (npm test builds it first), the
 * npm registry, PostgreSQL and redis-server.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import postgresJs from "postgres";
import { migrationFolders } from "../helpers/migration-folders.ts";
import { freePort } from "../helpers/net.ts";
import { assertDistBuilt, childEnv, freshWorkdir, type HealthBody, MINUTE, nextBin, packTarball, runCommand, startServer, stopProcessGroup } from "../helpers/next-app.ts";
import { startPostgres, type PostgresServer } from "../helpers/postgres.ts";
import { startRedis, type RedisServer } from "../helpers/redis.ts";
import { startUpstashServer, type UpstashServer } from "../helpers/upstash-server.ts";

const DRIVERS = ["postgres", "ioredis", "@upstash/redis"] as const;
type Driver = (typeof DRIVERS)[number];
const NEXT_MAJORS = [16, 15] as const;
const BUNDLERS = ["turbopack", "webpack"] as const;

/** What each app installs besides Next: its one driver. */
const DRIVER_VERSIONS: Record<Driver, string> = { postgres: "^3.4.9", ioredis: "^6.0.0", "@upstash/redis": "^1.39.0" };

/** The config each app has: the checks the README shows for its driver, from the entries it recommends. */
const CONFIGS: Record<Driver, string> = {
  postgres: `import { defineHealthConfig } from "probekit";
import { postgresHeartbeat } from "probekit/checks/postgres";
import { pendingMigrations } from "probekit/checks/migrations";
import { fileHeartbeat } from "probekit/checks/file-heartbeat";
import { memory } from "probekit/checks/system";

export default defineHealthConfig({
  subsets: {
    readiness: [postgresHeartbeat({ url: process.env.DATABASE_URL }), memory()],
    migrations: [pendingMigrations({ tool: "drizzle", url: process.env.DATABASE_URL })],
    // A folder the app has but next.config.mjs does not trace in: the control for the recipe.
    untraced: [pendingMigrations({ tool: "drizzle", url: process.env.DATABASE_URL, migrationsDir: "drizzle-untraced" })],
    worker: [fileHeartbeat()],
  },
});
`,
  ioredis: `import { defineHealthConfig } from "probekit";
import { redisPing, cacheRoundtrip, clusterHeartbeat } from "probekit/checks/ioredis";
import { httpEndpoint } from "probekit/checks/http";

export default defineHealthConfig({
  subsets: {
    readiness: [redisPing({ url: process.env.REDIS_URL }), cacheRoundtrip({ url: process.env.REDIS_URL })],
    workers: [clusterHeartbeat({ cluster: "jobs", url: process.env.REDIS_URL })],
    integrations: [httpEndpoint({ url: "http://127.0.0.1:1/never" })],
  },
});
`,
  "@upstash/redis": `import { defineHealthConfig } from "probekit";
import { redisPing, cacheRoundtrip } from "probekit/checks/upstash";

const upstash = { url: process.env.UPSTASH_REDIS_REST_URL ?? "", token: process.env.UPSTASH_REDIS_REST_TOKEN ?? "" };
export default defineHealthConfig({
  subsets: { readiness: [redisPing({ upstash }), cacheRoundtrip({ upstash })] },
});
`,
};

/** The checks readiness reports for each app. */
const READINESS_CHECKS: Record<Driver, string[]> = {
  postgres: ["memory", "postgres"],
  ioredis: ["cache:default", "redis"],
  "@upstash/redis": ["cache:default", "redis"],
};

const ROUTE = `import config from "../../../health.config";
import { createHealthRoute } from "probekit/next";

export const { GET, HEAD } = createHealthRoute(config);
`;

/**
 * The README's next.config.ts minus serverExternalPackages: nothing probekit-specific,
 * but for the postgres app the README's `outputFileTracingIncludes` recipe, which puts
 * the drizzle folder the migrations check reads into the deployment.
 */
function nextConfig(driver: Driver): string {
  const include = driver === "postgres" ? `\n  outputFileTracingIncludes: { "/healthcheck/\\\\[subset\\\\]": ["./drizzle/**/*"] },` : "";
  return `const nextConfig = {
  output: "standalone",
  outputFileTracingRoot: import.meta.dirname,
  turbopack: { root: import.meta.dirname },${include}
};
export default nextConfig;
`;
}

/** drizzle-kit 0.x's folder: a journal and one SQL file per migration. The database has applied the first. */
const DRIZZLE_APPLIED_AT = 1_700_000_000_000;
const DRIZZLE_FOLDER: Record<string, string> = {
  "meta/_journal.json": JSON.stringify({
    version: "7",
    dialect: "postgresql",
    entries: [
      { idx: 0, version: "7", when: DRIZZLE_APPLIED_AT, tag: "0000_init", breakpoints: true },
      { idx: 1, version: "7", when: DRIZZLE_APPLIED_AT + 60_000, tag: "0001_posts", breakpoints: true },
    ],
  }),
  "0000_init.sql": "create table users (id serial primary key);\n",
  "0001_posts.sql": "create table posts (id serial primary key);\n",
};

let services: { postgres: PostgresServer; redis: RedisServer; upstash: UpstashServer; databaseUrl: string } | undefined;
let tarball: string | undefined;
let workdir: string | undefined;

before(async () => {
  assertDistBuilt();
  const postgres = await startPostgres();
  const redis = await startRedis();
  const upstash = await startUpstashServer(redis.url());
  services = { postgres, redis, upstash, databaseUrl: await postgres.createDatabase("drivers") };
  // The table drizzle's migrator keeps, with the first migration of DRIZZLE_FOLDER applied.
  const sql = postgresJs(services.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`create schema drizzle`;
    await sql`create table drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint)`;
    await sql`insert into drizzle.__drizzle_migrations (hash, created_at) values ('0000', ${DRIZZLE_APPLIED_AT})`;
  } finally {
    await sql.end();
  }
  workdir = await freshWorkdir("next-drivers-");
  tarball = await packTarball(workdir);
}, { timeout: 5 * MINUTE });

after(async () => {
  await services?.upstash.close();
  await services?.redis.stop();
  await services?.postgres.destroy();
});

for (const major of NEXT_MAJORS) {
  for (const driver of DRIVERS) {
    describe(`Next ${major}, only ${driver} installed, no serverExternalPackages`, () => {
      let dir: string | undefined;
      before(async () => {
        dir = await writeApp(major, driver);
        await runCommand(`npm install (next ${major}, ${driver})`, "npm", ["install", "--no-audit", "--no-fund"], { cwd: dir, timeoutMs: 10 * MINUTE });
        for (const other of DRIVERS) assert.equal(existsSync(join(dir, "node_modules", other)), other === driver, `${other} installed: ${existsSync(join(dir, "node_modules", other))}`);
      }, { timeout: 11 * MINUTE });

      for (const bundler of BUNDLERS) {
        it(`next build with ${bundler}; the standalone server answers readiness with the real ${driver === "postgres" ? "PostgreSQL" : "Redis"}`, { timeout: 12 * MINUTE }, async () => {
          assert.ok(dir, "the app was not installed: see the before hook's error");
          const flag = bundlerFlag(major, bundler);
          await runCommand(`next build ${flag.join(" ")} (next ${major}, ${driver})`, process.execPath, [nextBin(dir), "build", ...flag], { cwd: dir, timeoutMs: 10 * MINUTE });
          assert.ok(existsSync(join(dir, ".next/standalone/server.js")), "no standalone server");
          // Outside the app, as in an image: the driver can only come from the trace or the bundle.
          const standalone = await mkdtemp(join(tmpdir(), "probekit-drivers-standalone-"));
          await cp(join(dir, ".next/standalone"), standalone, { recursive: true });
          after(() => rm(standalone, { recursive: true, force: true }));
          for (const other of DRIVERS) if (other !== driver) assert.ok(!existsSync(join(standalone, "node_modules", other)), `${other} is in the standalone folder`);

          const port = await freePort();
          const baseUrl = `http://127.0.0.1:${port}`;
          const { server, output } = await startServer(process.execPath, ["server.js"], {
            cwd: standalone,
            env: { ...childEnv(), ...serviceEnv(), HOSTNAME: "127.0.0.1", PORT: String(port), NODE_ENV: "production" },
            readyUrl: `${baseUrl}/healthcheck/readiness`,
          });
          try {
            const response = await fetch(`${baseUrl}/healthcheck/readiness?format=json`, { signal: AbortSignal.timeout(30_000) });
            const text = await response.text();
            assert.equal(response.status, 200, `${text}\n--- server ---\n${output()}`);
            const body = JSON.parse(text) as HealthBody;
            assert.deepEqual(Object.keys(body.checks).sort(), READINESS_CHECKS[driver]);
            for (const [name, [check]] of Object.entries(body.checks)) assert.equal(check?.status, "pass", `${name}: ${check?.output}`);
            if (driver === "postgres") await assertMigrationsTraced(baseUrl, standalone, output);
          } finally {
            await stopProcessGroup(server);
          }
        });
      }
    });
  }
}

/**
 * The README's recipe: the folder `outputFileTracingIncludes` names is in the standalone
 * folder and the check reads it there (one migration pending, named from its journal);
 * the same folder left out of the recipe is not, and the check says so.
 */
async function assertMigrationsTraced(baseUrl: string, standalone: string, output: () => string): Promise<void> {
  assert.ok(existsSync(join(standalone, "drizzle/meta/_journal.json")), "the traced drizzle folder is not in the standalone folder");
  assert.ok(!existsSync(join(standalone, "drizzle-untraced")), "a folder no recipe names is in the standalone folder");
  const outputOf = async (subset: string) => {
    const response = await fetch(`${baseUrl}/healthcheck/${subset}?format=json`, { signal: AbortSignal.timeout(30_000) });
    const text = await response.text();
    const body = JSON.parse(text) as HealthBody;
    assert.equal(body.checks.migrations?.[0]?.status, "fail", `${subset}: ${text}\n--- server ---\n${output()}`);
    return body.checks.migrations[0]!.output;
  };
  assert.equal(await outputOf("migrations"), "unavailable: 1 migration to apply: 0001_posts");
  assert.equal(await outputOf("untraced"), "unavailable: migrations folder not found: drizzle-untraced (is it included in the deployment?)");
}

/** Turbopack is `next build`'s default on 16 (`--webpack` for webpack); webpack is 15's (`--turbopack` for Turbopack). */
function bundlerFlag(major: number, bundler: (typeof BUNDLERS)[number]): string[] {
  if (major >= 16) return bundler === "webpack" ? ["--webpack"] : [];
  return bundler === "turbopack" ? ["--turbopack"] : [];
}

async function writeApp(major: number, driver: Driver): Promise<string> {
  assert.ok(workdir && tarball, "the tarball was not packed: see the first before hook's error");
  const dir = join(workdir, `next${major}-${driver.replace(/[@/]/g, "_")}`);
  await mkdir(join(dir, "app/healthcheck/[subset]"), { recursive: true });
  const packageJson = {
    name: `probekit-e2e-next${major}-${driver.replace(/[@/]/g, "-")}`,
    private: true,
    type: "module",
    dependencies: { next: `^${major}`, react: "^19", "react-dom": "^19", probekit: `file:${tarball}`, [driver]: DRIVER_VERSIONS[driver] },
    devDependencies: { typescript: "~5.9", "@types/react": "^19", "@types/node": "^20" },
  };
  await writeFile(join(dir, "package.json"), `${JSON.stringify(packageJson, null, 2)}\n`);
  await writeFile(join(dir, "next.config.mjs"), nextConfig(driver));
  if (driver === "postgres") {
    const { folder } = migrationFolders(() => dir);
    for (const name of ["drizzle", "drizzle-untraced"]) await folder(name, DRIZZLE_FOLDER);
  }
  await writeFile(join(dir, "health.config.ts"), CONFIGS[driver]);
  await writeFile(join(dir, "app/healthcheck/[subset]/route.ts"), ROUTE);
  await writeFile(join(dir, "app/layout.tsx"), `export default function RootLayout({ children }: { children: React.ReactNode }) {\n  return <html><body>{children}</body></html>;\n}\n`);
  await writeFile(
    join(dir, "tsconfig.json"),
    `${JSON.stringify(
      {
        compilerOptions: {
          target: "ES2022", lib: ["dom", "dom.iterable", "esnext"], allowJs: false, skipLibCheck: true, strict: true, noEmit: true, esModuleInterop: true,
          module: "esnext", moduleResolution: "bundler", resolveJsonModule: true, isolatedModules: true, jsx: "preserve", incremental: true,
          plugins: [{ name: "next" }],
        },
        include: ["next-env.d.ts", "**/*.ts", "**/*.tsx", ".next/types/**/*.ts"],
        exclude: ["node_modules"],
      },
      null,
      2,
    )}\n`,
  );
  return dir;
}

function serviceEnv(): NodeJS.ProcessEnv {
  assert.ok(services, "the services did not start: see the first before hook's error");
  return {
    DATABASE_URL: services.databaseUrl,
    REDIS_URL: services.redis.url(),
    UPSTASH_REDIS_REST_URL: services.upstash.url,
    UPSTASH_REDIS_REST_TOKEN: services.upstash.token,
  };
}
