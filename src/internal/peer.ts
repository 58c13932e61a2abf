/**
 * The one loader of optional peers (part of the check kit, see ./README.md). The
 * `import()` stays in the check's own file, written out, so bundlers and Node's
 * tracer see which package it is; this only names what to install when it fails.
 */
import { ServiceUnavailable } from "../core/errors.js";

/**
 * Awaits a check's `import()` of its driver; a missing or broken package fails the
 * run with `probekit/checks/<x>: cannot load "<pkg>" — npm install <pkg>`.
 *
 * @example
 * const { default: postgres } = await loadPeer("probekit/checks/postgres", "postgres", () => import("postgres"));
 */
export async function loadPeer<T>(who: string, pkg: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    throw new ServiceUnavailable(peerMessage(who, pkg), { cause: error });
  }
}

/** The message of a peer that cannot be loaded (also for a choice of peers: `"ioredis" or "redis"`). */
export function peerMessage(who: string, pkg: string, alternative?: string): string {
  return alternative === undefined
    ? `${who}: cannot load "${pkg}" — npm install ${pkg}`
    : `${who}: cannot load "${pkg}" or "${alternative}" — npm install ${pkg}`;
}
