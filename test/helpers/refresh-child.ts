/**
 * Child process for the background refresh's "no timer left behind" tests: starts a
 * refresh of a subset, serves a few runs, then stops it (`stop`), closes the config
 * (`close`) or drains (`drain`), prints the runs and the handles still active, and lets
 * the event loop end. The parent asserts it exits at once.
 */
import { closeHealthChecks, defineHealthConfig, runHealthChecks, startHealthRefresh } from "../../src/index.ts";
import { installShutdownDrain } from "../../src/node/index.ts";

const how = process.argv[2] ?? "stop";
let runs = 0;
const config = defineHealthConfig({
  subsets: { s: [{ name: "counted", check: () => void runs++ }] },
  logger: false,
  cacheTtlMs: 0,
});
const stop = startHealthRefresh(config, { subsets: ["s"], intervalMs: 20 });
await new Promise((resolve) => setTimeout(resolve, 200));
if (how === "stop") stop();
else if (how === "close") await closeHealthChecks(config);
else if (how === "drain") await installShutdownDrain({ drainMs: 0, exit: false, log: () => {} }).drain();
const stoppedAt = runs;
await new Promise((resolve) => setTimeout(resolve, 100));
// A probe after the stop runs the checks itself (nothing refreshes them any more).
if (how !== "drain") await runHealthChecks(config, "s");
console.log(`runs: ${stoppedAt >= 3 ? "several" : stoppedAt} after: ${runs - stoppedAt}`);
const active = process.getActiveResourcesInfo().filter((kind) => kind !== "TTYWrap" && kind !== "PipeWrap");
console.log(`active: ${active.length ? active.join(",") : "none"}`);
