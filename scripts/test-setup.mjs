#!/usr/bin/env node
/**
 * The first step of `npm test`: the real services the tests start (PostgreSQL, Redis,
 * RabbitMQ, MariaDB, memcached, NATS, dnsmasq, Prometheus, Chromium, openssl, …) are
 * Debian packages. Present: nothing to do (a few stat calls). Missing: installed with
 * apt-get, as root or through `sudo -n`; where that cannot be done, one line names the
 * command to run, and the tests do not start. `.ci/run` runs `npm ci && npm test`, so
 * CI goes through this same step.
 *
 * PROBEKIT_TEST_SETUP=check only checks (never installs); PROBEKIT_TEST_SETUP=skip skips.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";

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

let missing = missingPackages();
if (missing.length === 0) process.exit(0);

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
missing = missingPackages();
if (missing.length > 0) {
  console.error(`probekit tests: still missing after apt-get install: ${missing.join(", ")}`);
  process.exit(1);
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
