/** esbuild options that bundle the way an edge platform does: no Node, the edge-light/worker conditions. */
import type { BuildOptions } from "esbuild";

export const EDGE_BUILD_OPTIONS = {
  bundle: true,
  write: false,
  platform: "neutral",
  conditions: ["edge-light", "worker", "browser", "import"],
  mainFields: ["module", "main"],
  target: "es2022",
  logLevel: "silent",
} satisfies BuildOptions;
