/**
 * Prisma 7 clients generated for the tests (the `prisma-client` generator, into
 * test/.generated/, git-ignored), one per provider. Offline here, `prisma generate`
 * is pointed at a stub schema engine (PRISMA_SCHEMA_ENGINE_BINARY): generating a client
 * needs no engine, and the tests use driver adapters, which need no query engine. A real
 * project runs `prisma generate` with the engines Prisma downloads, as usual.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Generates a client for `provider` and returns the path of its client.ts. */
export function generatePrismaClient(provider: "postgresql" | "mysql"): string {
  const dir = join(ROOT, "test", ".generated", `prisma-${provider}`);
  mkdirSync(dir, { recursive: true });
  const stub = join(dir, "schema-engine-stub.sh");
  writeFileSync(stub, "#!/bin/sh\necho 'probekit tests: no schema engine offline' >&2\nexit 1\n");
  chmodSync(stub, 0o755);
  writeFileSync(
    join(dir, "schema.prisma"),
    [
      "generator client {",
      '  provider     = "prisma-client"',
      '  output       = "./generated"',
      '  runtime      = "nodejs"',
      '  moduleFormat = "esm"',
      "}",
      "datasource db {",
      `  provider = "${provider}"`,
      "}",
      "model Probe {",
      "  id Int @id",
      "}",
      "",
    ].join("\n"),
  );
  execFileSync(join(ROOT, "node_modules", ".bin", "prisma"), ["generate", "--schema", join(dir, "schema.prisma")], {
    cwd: dir,
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: stub, CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1" },
    stdio: ["ignore", "ignore", "pipe"],
    timeout: 120_000,
  });
  return join(dir, "generated", "client.ts");
}
