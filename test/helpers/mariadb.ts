/**
 * A throwaway MariaDB server for integration tests (Debian's `mariadb-server`; MySQL 8
 * is not packaged by Debian): mariadb-install-db + mariadbd on 127.0.0.1 and a free
 * port, its own data folder and socket, no system config (`--no-defaults`). A test user
 * with a password (so wrong-password faults are real) and a test database.
 * Started and stopped by PID; start() after stop() brings it back on the same port.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
import type { Leaf } from "./certificates.ts";
import { stopChild } from "./child-process.ts";
import { freePort } from "./net.ts";

export const MARIADB_USER = "probekit";
export const MARIADB_PASSWORD = "probekit-mariadb-password";
export const MARIADB_DATABASE = "probekit";

export interface MariaDbServer {
  port: number;
  /** mysql://user:password@127.0.0.1:port/database */
  url(database?: string, user?: string, password?: string): string;
  /** The server's Unix socket. */
  socket: string;
  /** Runs SQL as root over the server's socket. */
  admin(query: string): Promise<unknown>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP: the server keeps its sockets but answers nothing (a hung host). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Stops the server and removes its data. */
  destroy(): Promise<void>;
}

function binary(name: string): string {
  for (const candidate of [`/usr/sbin/${name}`, `/usr/bin/${name}`]) if (existsSync(candidate)) return candidate;
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).stdout.trim();
  if (!found) throw new Error(`${name} is not installed: apt-get install mariadb-server (.ci/run does)`);
  return found;
}

/**
 * `tls`: the server presents this certificate and refuses TCP clients without TLS
 * (`require_secure_transport`; its socket stays open to admin()).
 */
export async function startMariaDb(options: { maxConnections?: number; tls?: Leaf } = {}): Promise<MariaDbServer> {
  const port = await freePort();
  const root = mkdtempSync(join(tmpdir(), "probekit-mariadb-"));
  const data = join(root, "data");
  const socket = join(root, "mariadb.sock");
  // mariadbd refuses root unless told to run as root; as anyone else it runs as them.
  const user = process.getuid?.() === 0 ? ["--user=root"] : [];
  const install = spawnSync(
    binary("mariadb-install-db"),
    ["--no-defaults", `--datadir=${data}`, "--auth-root-authentication-method=socket", "--skip-test-db", "--skip-name-resolve", ...user],
    { encoding: "utf8", timeout: 120_000 },
  );
  if (install.status !== 0) throw new Error(`mariadb-install-db failed (${install.status ?? install.signal}):\n${install.stdout}\n${install.stderr}`);

  const tls: string[] = [];
  if (options.tls !== undefined) {
    writeFileSync(join(root, "server.crt"), options.tls.cert);
    writeFileSync(join(root, "server.key"), options.tls.key, { mode: 0o600 });
    tls.push(`--ssl-cert=${join(root, "server.crt")}`, `--ssl-key=${join(root, "server.key")}`, "--require-secure-transport=ON");
  }
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      binary("mariadbd"),
      [
        "--no-defaults",
        `--datadir=${data}`,
        `--socket=${socket}`,
        `--port=${port}`,
        "--bind-address=127.0.0.1",
        `--pid-file=${join(root, "mariadb.pid")}`,
        "--skip-name-resolve",
        "--skip-log-bin",
        "--innodb-buffer-pool-size=16M",
        "--innodb-log-file-size=8M",
        "--performance-schema=OFF",
        `--max-connections=${options.maxConnections ?? 40}`,
        ...tls,
        ...user,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 60_000;
    while (!/ready for connections/.test(output)) {
      if (child.exitCode !== null) throw new Error(`mariadbd exited (${child.exitCode}):\n${output}`);
      if (Date.now() > deadline) throw new Error(`mariadbd did not start within 60 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const stop = () => stopChild(child);
  const admin = async (query: string) => {
    const connection = await mysql.createConnection({ socketPath: socket, user: "root" });
    try {
      const [rows] = await connection.query(query);
      return rows;
    } finally {
      await connection.end();
    }
  };

  await start();
  await admin(`CREATE DATABASE ${MARIADB_DATABASE}`);
  await admin(`CREATE USER '${MARIADB_USER}'@'%' IDENTIFIED BY '${MARIADB_PASSWORD}'`);
  await admin(`GRANT ALL ON *.* TO '${MARIADB_USER}'@'%'`);
  return {
    port,
    url: (database = MARIADB_DATABASE, name = MARIADB_USER, password = MARIADB_PASSWORD) =>
      `mysql://${encodeURIComponent(name)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    socket,
    admin,
    stop,
    start,
    pause: () => void child?.kill("SIGSTOP"),
    resume: () => void child?.kill("SIGCONT"),
    async destroy() {
      await stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
