/** Small checks and config helpers shared by the tests. */
import { defineCheck, defineHealthConfig, runHealthChecks, ServiceUnavailable, ServiceWarning, type Check, type CheckReport, type HealthConfigInput, type HealthLogger } from "../../src/index.ts";

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A config that does not log unless the test asks it to. */
export function quietConfig(input: HealthConfigInput) {
  return defineHealthConfig({ logger: false, ...input });
}

/** Runs one check alone, uncached and unlogged, under `timeoutMs`, and returns its report. */
export async function runCheckOnce(check: Check, timeoutMs = 3000): Promise<CheckReport> {
  const config = defineHealthConfig({ subsets: { s: [check] }, timeoutMs, cacheTtlMs: 0, logger: false });
  return (await runHealthChecks(config, "s")).checks[0]!;
}

export function passing(name: string, extra: Partial<Check> = {}): Check {
  return defineCheck({ name, check: () => {}, ...extra });
}

export function failing(name: string, message = "down", extra: Partial<Check> = {}): Check {
  return defineCheck({ name, check: () => { throw new ServiceUnavailable(message); }, ...extra });
}

export function warning(name: string, message = "degraded", extra: Partial<Check> = {}): Check {
  return defineCheck({ name, check: () => { throw new ServiceWarning(message); }, ...extra });
}

/** A check that counts its runs and takes `ms` to pass. */
export function counted(name: string, ms = 0): Check & { runs: number } {
  const check = {
    name,
    runs: 0,
    async check() {
      check.runs++;
      if (ms > 0) await sleep(ms);
    },
  };
  return check;
}

/** A logger that remembers what it was told. */
export function recordingLogger(): HealthLogger & { lines: { level: string; message: string; details: unknown[] }[] } {
  const lines: { level: string; message: string; details: unknown[] }[] = [];
  return {
    lines,
    error: (message, ...details) => lines.push({ level: "error", message, details }),
    warn: (message, ...details) => lines.push({ level: "warn", message, details }),
  };
}
