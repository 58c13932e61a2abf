/**
 * A throwaway PostgreSQL server for integration tests: initdb + pg_ctl on
 * 127.0.0.1 and a free port, run as the `postgres` user when the tests run as
 * root (PostgreSQL refuses root). Password authentication (scram-sha-256) for
 * every connection, so wrong-password faults are real.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import type { Leaf } from "./certificates.ts";
import { freePort } from "./net.ts";

export const SUPERUSER = "postgres";
export const PASSWORD = "probekit-test-password";

export interface PostgresServer {
  port: number;
  /** A connection URL for `database` (as the superuser unless told otherwise). */
  url(database: string, user?: string, password?: string): string;
  /** Creates a fresh database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Runs SQL as the superuser in the `postgres` database. */
  admin(query: string): Promise<Record<string, unknown>[]>;
  stop(): void;
  start(): void;
  /** Stops the server and removes its data. */
  destroy(): Promise<void>;
}

/** The folder holding pg_ctl and initdb: PATH first, then Debian's versioned folders. */
function binDir(): string {
  const onPath = spawnSync("sh", ["-c", "command -v pg_ctl"], { encoding: "utf8" }).stdout.trim();
  if (onPath) return join(onPath, "..");
  const base = "/usr/lib/postgresql";
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    if (existsSync(join(base, version, "bin", "pg_ctl"))) return join(base, version, "bin");
  }
  throw new Error("PostgreSQL is not installed (no pg_ctl on PATH or in /usr/lib/postgresql/*/bin): apt-get install postgresql (.ci/run does)");
}

/** Runs a PostgreSQL program, as the postgres user when we are root. */
function pgRun(program: string, args: string[]): void {
  const bin = join(binDir(), program);
  const asRoot = process.getuid?.() === 0;
  const [command, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
  const result = spawnSync(command, argv, { encoding: "utf8", timeout: 60_000 });
  if (result.status !== 0) throw new Error(`${program} ${args.join(" ")} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
}

export async function startPostgres(): Promise<PostgresServer> {
  const port = await freePort();
  const root = mkdtempSync(join(tmpdir(), "probekit-pg-"));
  const data = join(root, "data");
  const passwordFile = join(root, "password");
  writeFileSync(passwordFile, `${PASSWORD}\n`);
  chmodSync(root, 0o755);
  const ids = postgresUserIds();
  if (ids !== undefined) for (const path of [root, passwordFile]) chownSync(path, ids.uid, ids.gid);
  pgRun("initdb", ["-D", data, "-U", SUPERUSER, "--auth=scram-sha-256", `--pwfile=${passwordFile}`, "--no-sync", "-E", "UTF8", "--locale=C"]);
  const options = [
    `-c listen_addresses=127.0.0.1`,
    `-c port=${port}`,
    `-c unix_socket_directories=${root}`,
    `-c max_connections=30`,
    `-c fsync=off`,
    `-c synchronous_commit=off`,
    `-c full_page_writes=off`,
  ].join(" ");
  const start = () => pgRun("pg_ctl", ["-D", data, "-l", join(root, "log"), "-o", options, "-w", "-t", "60", "start"]);
  const stop = () => pgRun("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "60", "stop"]);
  start();

  const url = (database: string, user = SUPERUSER, password = PASSWORD) =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  const admin = async (query: string) => {
    const sql = postgres(url("postgres"), { max: 1, onnotice: () => {} });
    try {
      return (await sql.unsafe(query)) as unknown as Record<string, unknown>[];
    } finally {
      await sql.end({ timeout: 5 });
    }
  };
  let running = true;
  return {
    port,
    url,
    admin,
    async createDatabase(name) {
      await admin(`create database "${name}"`);
      return url(name);
    },
    stop() {
      stop();
      running = false;
    },
    start() {
      start();
      running = true;
    },
    async destroy() {
      if (running) stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The `postgres` user's ids when the tests run as root (its files must be its own); undefined otherwise. */
export function postgresUserIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return {
    uid: Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim()),
    gid: Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim()),
  };
}

/**
 * Turns TLS on for a running server, presenting `leaf` (ssl = on through ALTER SYSTEM and a
 * configuration reload: no restart). Connections that do not ask for TLS still work. The
 * returned function turns it off again and removes the key.
 */
export async function serveTls(server: PostgresServer, leaf: Leaf): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), "probekit-pg-tls-"));
  const [cert, key] = [join(dir, "server.crt"), join(dir, "server.key")];
  writeFileSync(cert, leaf.cert);
  // PostgreSQL refuses a key that its group or others may read.
  writeFileSync(key, leaf.key, { mode: 0o600 });
  chmodSync(dir, 0o755);
  const ids = postgresUserIds();
  if (ids !== undefined) for (const path of [dir, cert, key]) chownSync(path, ids.uid, ids.gid);
  const reload = async (settings: string[]) => {
    for (const setting of settings) await server.admin(setting);
    await server.admin("select pg_reload_conf()");
  };
  await reload([`alter system set ssl_cert_file = '${cert}'`, `alter system set ssl_key_file = '${key}'`, "alter system set ssl = on"]);
  // The reload is a signal: wait until a new connection gets TLS (a bad key leaves ssl off, and its log says why).
  for (const deadline = Date.now() + 10_000; ; ) {
    const sql = postgres(server.url("postgres"), { ssl: "require", max: 1, onnotice: () => {} });
    const on = await sql`select ssl from pg_stat_ssl where pid = pg_backend_pid()`.then(
      (rows) => rows[0]?.ssl === true,
      () => false,
    );
    await sql.end({ timeout: 5 });
    if (on) break;
    if (Date.now() > deadline) throw new Error("PostgreSQL did not serve TLS within 10 s of the reload (see its log)");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return async () => {
    await reload(["alter system reset ssl", "alter system reset ssl_cert_file", "alter system reset ssl_key_file"]);
    rmSync(dir, { recursive: true, force: true });
  };
}
