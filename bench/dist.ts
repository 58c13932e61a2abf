/**
 * The built package (dist/, what users install), typed from src/ so the
 * benchmarks type-check before anything is built. Shared by the suite and the
 * server scripts it runs under Node and Bun: the readiness subset every
 * contender serves, and the constant answer the ceilings send.
 */
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { HealthAnswer, HealthConfig } from "../src/index.ts";

export const REPO = fileURLToPath(new URL("..", import.meta.url));

export type Core = typeof import("../src/index.ts");
export type NodeEntry = typeof import("../src/node/index.ts");
export type MiddlewareEntry = typeof import("../src/middleware/index.ts");
export type NextEntry = typeof import("../src/next/index.ts");

/** Imports a file of dist/ (`npm run build` first). */
export async function importDist<T>(file: string): Promise<T> {
  return (await import(pathToFileURL(join(REPO, "dist", file)).href)) as T;
}

/** The path every health contender is asked for, and the Accept a machine probe sends. */
export const READINESS_PATH = "/healthcheck/readiness";
export const JSON_HEADERS = { accept: "application/json" };

/** The subset under test: three checks that do nothing, so what is measured is probekit itself. */
export const NOOP_CHECK_NAMES = ["database", "cache", "queue"] as const;

export function noopReadinessConfig(core: Core, options: { cacheTtlMs?: number } = {}): HealthConfig {
  return core.defineHealthConfig({
    subsets: { readiness: NOOP_CHECK_NAMES.map((name) => core.defineCheck({ name, check: () => {} })) },
    logger: false,
    ...options,
  });
}

/**
 * The coalescing subset: `slow`, one check that takes `ms` and numbers its runs in
 * its output, so a client can count how many runs its requests shared.
 */
export function slowCheckConfig(core: Core, ms: number, options: { cacheTtlMs?: number } = {}): HealthConfig {
  let runs = 0;
  return core.defineHealthConfig({
    subsets: {
      slow: [
        core.defineCheck({
          name: "slow",
          check: async () => {
            const run = ++runs;
            await new Promise((resolve) => setTimeout(resolve, ms));
            return { output: `run ${run}` };
          },
        }),
      ],
    },
    logger: false,
    ...options,
  });
}

/** probekit's own answer to a JSON readiness probe, to be sent verbatim by the ceilings. */
export function constantAnswer(core: Core, config: HealthConfig): Promise<HealthAnswer> {
  return core.answerHealthRequest({ method: "GET", pathname: READINESS_PATH, format: null, accept: JSON_HEADERS.accept, authorization: null }, config);
}
