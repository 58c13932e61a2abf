/**
 * The one loader of optional peers (part of the check kit, see ./README.md). The
 * `import()` stays in the check's own file, written out, so bundlers and Node's
 * tracer see which package it is; this only names what to install when it fails.
 */
import { ServiceUnavailable } from "../core/errors.js";

/**
 * Awaits a check's `import()` of its driver and picks `name` from it, wherever the
 * module system put it: a CommonJS driver bundled by webpack arrives with its exports
 * on `default` (or as `default` itself). A missing or broken package fails the run
 * with `probekit/checks/<x>: cannot load "<pkg>" — npm install <pkg>`.
 *
 * @example
 * const postgres = await loadPeer("probekit/checks/postgres", "postgres", () => import("postgres"), "default");
 */
export async function loadPeer<M, K extends keyof M & string>(who: string, pkg: string, load: () => Promise<M>, name: K): Promise<NonNullable<M[K]>> {
  let picked: unknown;
  try {
    const module = (await load()) as Record<string, unknown> & { default?: Record<string, unknown> };
    picked = name === "default" ? (module.default ?? module) : (module[name] ?? module.default?.[name]);
  } catch (error) {
    throw new ServiceUnavailable(peerMessage(who, pkg), { cause: error });
  }
  if (picked === undefined || picked === null) throw new ServiceUnavailable(`${who}: "${pkg}" has no ${name} export — npm install a supported version of ${pkg}`);
  return picked as NonNullable<M[K]>;
}

/** The message of a peer that cannot be loaded (also for a choice of peers: `"ioredis" or "redis"`). */
export function peerMessage(who: string, pkg: string, alternative?: string): string {
  return alternative === undefined
    ? `${who}: cannot load "${pkg}" — npm install ${pkg}`
    : `${who}: cannot load "${pkg}" or "${alternative}" — npm install ${pkg}`;
}
