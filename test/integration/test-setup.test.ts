/**
 * `npm test`'s first step (scripts/test-setup.mjs) on a machine without the services:
 * a mount namespace hides them (tmpfs over /usr/sbin and /usr/lib/postgresql) and the
 * script runs as an unprivileged user, who can neither apt-get nor sudo. It must stop
 * at once with one line naming the command to run. As root with installing turned off
 * (PROBEKIT_TEST_SETUP=check) the line names the same command without sudo. With
 * everything present it says nothing.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("../../scripts/test-setup.mjs", import.meta.url));
const root = process.getuid?.() === 0;

/** Runs the script with the services hidden; `asNobody` drops to uid 65534 first. */
function withServicesHidden(asNobody: boolean, env: Record<string, string> = {}) {
  const run = asNobody ? `exec setpriv --reuid=65534 --regid=65534 --clear-groups ${process.execPath} ${SCRIPT}` : `exec ${process.execPath} ${SCRIPT}`;
  return spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", `mount -t tmpfs tmpfs /usr/sbin && mount -t tmpfs tmpfs /usr/lib/postgresql && ${run}`], {
    encoding: "utf8",
    timeout: 30_000,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
  });
}

describe("npm test's set-up step on a machine without the services", { skip: !root && process.env.CI !== "true" ? "needs root for a mount namespace" : false }, () => {
  it("with everything installed it says nothing and exits 0", () => {
    const result = spawnSync(process.execPath, [SCRIPT], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, "");
  });

  it("as a user who cannot install: exit 1 at once, one line naming the apt-get command (with sudo)", () => {
    assert.ok(root, "the test needs root to make the namespace");
    const result = withServicesHidden(true);
    assert.equal(result.status, 1, result.stderr);
    const lines = result.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, /^probekit tests: missing postgresql, util-linux, mariadb-server, nats-server, dnsmasq, pgbouncer: run {2}sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends postgresql util-linux mariadb-server nats-server dnsmasq pgbouncer'/);
    assert.equal(result.stdout, "");
  });

  it("as root with installing turned off: the same line, without sudo", () => {
    const result = withServicesHidden(false, { PROBEKIT_TEST_SETUP: "check" });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^probekit tests: missing postgresql, .*: run {2}sh -c 'apt-get update && apt-get install -y --no-install-recommends postgresql /);
  });
});
