/**
 * Child process for the runner's "no timer left behind" test: runs a subset whose
 * first check never settles and whose second passes at once, prints the outcome and the handles still active, then lets
 * the event loop drain. The parent asserts it exits at once.
 */
import { defineHealthConfig, runHealthChecks } from "../../src/index.ts";

const config = defineHealthConfig({
  subsets: {
    s: [
      { name: "hang", timeoutMs: 200, check: () => new Promise<void>(() => {}) },
      // Passes at once: its 60 s timeout timer must be cleared, or the process would linger.
      { name: "quick", timeoutMs: 60_000, check: () => {} },
    ],
  },
  logger: false,
});
const report = await runHealthChecks(config, "s");
console.log(`${report.checks[0]!.status} ${report.checks[0]!.output}`);
const active = process.getActiveResourcesInfo().filter((kind) => kind !== "TTYWrap" && kind !== "PipeWrap");
console.log(`active: ${active.length ? active.join(",") : "none"}`);
