/**
 * A throwaway PgBouncer (Debian's `pgbouncer`) for integration tests, in front of a
 * server from ./postgres.ts: its own ini and auth file, 127.0.0.1 and a free port, no
 * Unix socket, `pool_mode = transaction`. Run as the `postgres` user when the tests run
 * as root (PgBouncer refuses root); started and stopped by PID.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./net.ts";
import { PASSWORD, postgresUserIds, SUPERUSER, type PostgresServer } from "./postgres.ts";

export interface PgBouncer {
  port: number;
  /** A connection URL for `database` through the bouncer, as the superuser. */
  url(database: string): string;
  /** The last lines of its log. */
  log(): string;
  /** Kills the process by PID and removes its files. */
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  /** Server connections per database and user pair. @default 2 */
  poolSize?: number;
  /** Hand out server connections in turn rather than the last one used, so each transaction may land on another. @default true */
  roundRobin?: boolean;
}

function pgbouncerBinary(): string {
  if (existsSync("/usr/sbin/pgbouncer")) return "/usr/sbin/pgbouncer";
  const found = spawnSync("sh", ["-c", "command -v pgbouncer"], { encoding: "utf8" }).stdout.trim();
  if (found) return found;
  // A developer may skip the tests that need it; CI has no excuse (npm test's set-up step installs it).
  if (process.env.CI === "true") throw new Error("pgbouncer is not installed (no /usr/sbin/pgbouncer or pgbouncer on PATH) on CI: scripts/test-setup.mjs must install the Debian package pgbouncer");
  throw new Error("pgbouncer is not installed (no /usr/sbin/pgbouncer or pgbouncer on PATH): apt-get install pgbouncer (npm test's set-up step does)");
}

/** Accepts a TCP connection on 127.0.0.1:`port`? */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

export async function startPgBouncer(postgres: PostgresServer, { poolSize = 2, roundRobin = true }: PgBouncerOptions = {}): Promise<PgBouncer> {
  const binary = pgbouncerBinary();
  const port = await freePort();
  const root = mkdtempSync(join(tmpdir(), "probekit-pgbouncer-"));
  const logFile = join(root, "log");
  writeFileSync(join(root, "userlist.txt"), `"${SUPERUSER}" "${PASSWORD}"\n`);
  writeFileSync(
    join(root, "pgbouncer.ini"),
    [
      "[databases]",
      `* = host=127.0.0.1 port=${postgres.port}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = scram-sha-256",
      `auth_file = ${join(root, "userlist.txt")}`,
      "pool_mode = transaction",
      `default_pool_size = ${poolSize}`,
      "min_pool_size = 0",
      "reserve_pool_size = 0",
      "max_client_conn = 200",
      `server_round_robin = ${roundRobin ? 1 : 0}`,
      // Sent by some drivers at startup; PgBouncer refuses unknown startup parameters.
      "ignore_startup_parameters = extra_float_digits",
      `logfile = ${logFile}`,
      "",
    ].join("\n"),
  );
  // PgBouncer refuses to run as root: then it runs as postgres, owning its files.
  const ids = postgresUserIds();
  if (ids !== undefined) for (const path of [root, join(root, "userlist.txt"), join(root, "pgbouncer.ini")]) chownSync(path, ids.uid, ids.gid);
  const child: ChildProcess = spawn(binary, [join(root, "pgbouncer.ini")], { stdio: ["ignore", "pipe", "pipe"], ...ids });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const log = () => (existsSync(logFile) ? execFileSync("tail", ["-n", "40", logFile], { encoding: "utf8" }) : "") + output;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
    rmSync(root, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null) {
      const text = log();
      await stop();
      throw new Error(`pgbouncer exited (${child.exitCode}):\n${text}`);
    }
    if (Date.now() > deadline) {
      const text = log();
      await stop();
      throw new Error(`pgbouncer did not listen within 15 s:\n${text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    url: (database) => `postgres://${encodeURIComponent(SUPERUSER)}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    log,
    stop,
  };
}
