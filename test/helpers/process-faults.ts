/**
 * Records every unhandled rejection and uncaught exception of the test process,
 * so a hostile-input or fault suite can assert that none happened — also after
 * a pause longer than any timeout it provoked, when a late settlement would surface.
 */
import assert from "node:assert/strict";
import { sleep } from "./checks.ts";

export interface ProcessFaults {
  /** What was recorded so far, as `kind: message`. */
  readonly recorded: readonly string[];
  /** Waits `pauseMs`, removes the listeners, and fails if anything was recorded. */
  assertNoneAfter(pauseMs: number): Promise<void>;
}

/**
 * Installs the recorders; call once at the top of a test file.
 *
 * @example
 * const faults = recordProcessFaults();
 * after(() => faults.assertNoneAfter(500));
 */
export function recordProcessFaults(): ProcessFaults {
  const recorded: string[] = [];
  const onRejection = (reason: unknown) => recorded.push(`unhandledRejection: ${describeFault(reason)}`);
  const onException = (error: unknown) => recorded.push(`uncaughtException: ${describeFault(error)}`);
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);
  return {
    recorded,
    async assertNoneAfter(pauseMs) {
      await sleep(pauseMs);
      process.off("unhandledRejection", onRejection);
      process.off("uncaughtException", onException);
      assert.deepEqual(recorded, [], "no unhandled rejection or uncaught exception");
    },
  };
}

function describeFault(value: unknown): string {
  try {
    return value instanceof Error ? (value.stack ?? `${value.name}: ${value.message}`) : String(value);
  } catch {
    return `a ${typeof value} that cannot be printed`;
  }
}
