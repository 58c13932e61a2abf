/**
 * A throwaway RabbitMQ node for integration tests: Debian's rabbitmq-server on
 * 127.0.0.1 with free AMQP, distribution and epmd ports, its own node name,
 * and every file (config, definitions, database, logs, Erlang cookie) in a
 * temp dir, so it clashes with no system broker. It runs its own epmd, which
 * outlives `rabbitmqctl stop`, and ends it by PID. No plugins (management off).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import amqplib from "amqplib";
import { freePort } from "./net.ts";

export const RABBITMQ_USER = "pk-amqp-user";
export const RABBITMQ_PASSWORD = "pk-amqp-password";
/** A vhost that exists but on which the test user has no permissions. */
export const LOCKED_VHOST = "pk-locked";

/** Debian's real scripts; /usr/sbin/rabbitmq-server is a wrapper that su's to the rabbitmq user, which cannot read our temp dir. */
const RABBITMQ_BIN = "/usr/lib/rabbitmq/bin";
const START_TIMEOUT_MS = 60_000;

export interface RabbitmqServer {
  port: number;
  nodeName: string;
  /** amqp://user:password@127.0.0.1:port/vhost (the test user and the default vhost unless told otherwise). */
  url(options?: { user?: string; password?: string; vhost?: string }): string;
  /** Runs rabbitmqctl against this node and returns its stdout. */
  ctl(...args: string[]): Promise<string>;
  /** How long the last start took, until the broker accepted an AMQP connection. */
  startupMs: number;
  /** `rabbitmqctl stop`, then ends the epmd this helper started. */
  stop(): Promise<void>;
  /** Starts epmd and the node again, on the same ports and data. */
  start(): Promise<void>;
  /** Stops everything and removes the temp dir. */
  destroy(): Promise<void>;
}

/** Ports nothing else uses, distinct from each other. */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** RabbitMQ's default password hash (rabbit_password_hashing_sha256): base64(salt ++ sha256(salt ++ password)). */
function passwordHash(password: string): string {
  const salt = randomBytes(4);
  const digest = createHash("sha256").update(salt).update(password, "utf8").digest();
  return Buffer.concat([salt, digest]).toString("base64");
}

/** The test user, with full permissions on "/" and none on the locked vhost, imported at every boot. */
function definitions(): string {
  return JSON.stringify({
    users: [{ name: RABBITMQ_USER, password_hash: passwordHash(RABBITMQ_PASSWORD), hashing_algorithm: "rabbit_password_hashing_sha256", tags: [] }],
    vhosts: [{ name: "/" }, { name: LOCKED_VHOST }],
    permissions: [{ user: RABBITMQ_USER, vhost: "/", configure: ".*", write: ".*", read: ".*" }],
  });
}

function installed(path: string): string {
  if (existsSync(path)) return path;
  throw new Error(`RabbitMQ is not installed (no ${path}): apt-get install rabbitmq-server (.ci/run does)`);
}

/** True when something accepts a TCP connection on the port within a second. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ port, host: "127.0.0.1" });
    socket.setTimeout(1000);
    const done = (accepted: boolean) => {
      socket.destroy();
      resolve(accepted);
    };
    socket.once("connect", () => done(true)).once("error", () => done(false)).once("timeout", () => done(false));
  });
}

async function waitForListener(port: number, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode})`);
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} within ${START_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function exited(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

async function waitForExit(child: ChildProcess | undefined, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([exited(child).then(() => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

export async function startRabbitmq(): Promise<RabbitmqServer> {
  const server = installed(join(RABBITMQ_BIN, "rabbitmq-server"));
  const rabbitmqctl = installed(join(RABBITMQ_BIN, "rabbitmqctl"));
  const epmdBinary = installed("/usr/bin/epmd");
  const [port, distPort, epmdPort] = (await freePorts(3)) as [number, number, number];
  const root = mkdtempSync(join(tmpdir(), "probekit-rabbitmq-"));
  const nodeName = `probekit-${port}@localhost`;

  writeFileSync(join(root, "definitions.json"), definitions());
  writeFileSync(
    join(root, "rabbitmq.conf"),
    [`listeners.tcp.default = 127.0.0.1:${port}`, `load_definitions = ${join(root, "definitions.json")}`, "log.console = false", ""].join("\n"),
  );
  // An empty list: no plugin (management included) is expanded or started, which also keeps boot short.
  writeFileSync(join(root, "enabled_plugins"), "[].\n");
  // Stands in for /etc/rabbitmq/rabbitmq-env.conf, so the system's settings (node name, ports) do not apply.
  writeFileSync(join(root, "rabbitmq-env.conf"), "");
  // Erlang distribution on loopback only, and never an epmd of its own: ours runs, or boot fails loudly.
  const loopbackErlArgs = "-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false";
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // The Erlang cookie is created in, and read from, $HOME: one of our own, shared by the node and rabbitmqctl.
    HOME: root,
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_CONF_ENV_FILE: join(root, "rabbitmq-env.conf"),
    RABBITMQ_CONFIG_FILE: join(root, "rabbitmq.conf"),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(root, "advanced.config"),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(root, "enabled_plugins"),
    RABBITMQ_PLUGINS_EXPAND_DIR: join(root, "plugins-expand"),
    RABBITMQ_MNESIA_BASE: join(root, "mnesia"),
    RABBITMQ_LOG_BASE: join(root, "log"),
    RABBITMQ_PID_FILE: join(root, "rabbitmq.pid"),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: loopbackErlArgs,
    RABBITMQ_CTL_ERL_ARGS: loopbackErlArgs,
    ERL_EPMD_PORT: String(epmdPort),
  };
  const url: RabbitmqServer["url"] = ({ user = RABBITMQ_USER, password = RABBITMQ_PASSWORD, vhost = "/" } = {}) =>
    `amqp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(vhost)}`;

  let epmd: ChildProcess | undefined;
  let node: ChildProcess | undefined;
  let output = "";
  const running = (child: ChildProcess | undefined) => child !== undefined && child.exitCode === null && child.signalCode === null;
  const logTail = () => {
    const log = join(root, "log", `${nodeName}.log`);
    return `${output}\n${existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(-40).join("\n") : "(no log)"}`;
  };

  const ctl = async (...args: string[]) => {
    // Without our epmd, the CLI's Erlang would start a daemon of its own that nobody ends.
    if (!running(epmd)) throw new Error("rabbitmqctl: the node's epmd is not running");
    const { stdout } = await promisify(execFile)(rabbitmqctl, ["-n", nodeName, ...args], { env, cwd: root, timeout: 60_000 });
    return stdout;
  };

  /** Resolves once the broker completes an AMQP handshake: a listening port alone is not ready (definitions may not be loaded yet). */
  const waitForAmqp = async () => {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      try {
        const connection = await amqplib.connect(url(), { timeout: 2000 });
        await connection.close();
        return;
      } catch (error) {
        if (!running(node)) throw new Error(`rabbitmq-server exited (${node?.exitCode ?? node?.signalCode}):\n${logTail()}`);
        if (Date.now() > deadline) throw new Error(`rabbitmq-server did not accept AMQP within ${START_TIMEOUT_MS} ms (${String(error)}):\n${logTail()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };

  /** Ends what is still running, by PID: the node (SIGTERM makes its start script stop it cleanly), then epmd. */
  const kill = async () => {
    if (running(node)) {
      node!.kill("SIGTERM");
      if (!(await waitForExit(node, 30_000))) {
        // The script is stuck: end the Erlang VM it started (its PID is in the pid file) and the script.
        const pidFile = join(root, "rabbitmq.pid");
        const vm = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim()) : NaN;
        if (Number.isInteger(vm) && vm > 0) process.kill(vm, "SIGKILL");
        node!.kill("SIGKILL");
      }
    }
    if (running(epmd)) {
      epmd!.kill("SIGTERM");
      await waitForExit(epmd, 5_000);
    }
  };
  // A test process that dies without after() hooks must not leave a broker behind.
  const killOnExit = () => {
    if (running(node)) node!.kill("SIGTERM");
    if (running(epmd)) epmd!.kill("SIGTERM");
  };
  process.once("exit", killOnExit);

  const start = async () => {
    const started = performance.now();
    output = "";
    epmd = spawn(epmdBinary, ["-port", String(epmdPort), "-address", "127.0.0.1"], { env, cwd: root, stdio: "ignore" });
    try {
      await waitForListener(epmdPort, epmd, "epmd");
      // Foreground mode: the script stays our child, so its PID is ours to end.
      node = spawn(server, [], { env, cwd: root, stdio: ["ignore", "pipe", "pipe"] });
      node.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
      node.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
      await waitForAmqp();
    } catch (error) {
      await kill();
      throw error;
    }
    handle.startupMs = Math.round(performance.now() - started);
  };

  const stop = async () => {
    if (running(node)) {
      try {
        await ctl("stop");
      } catch {
        // The node is not answering: end it by PID below.
      }
      if (!(await waitForExit(node, 30_000))) await kill();
    }
    // epmd keeps running after the node stops: it is ours, end it.
    await kill();
  };

  const handle: RabbitmqServer = {
    port,
    nodeName,
    url,
    ctl,
    startupMs: 0,
    stop,
    start,
    async destroy() {
      await stop();
      process.removeListener("exit", killOnExit);
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await start();
  } catch (error) {
    process.removeListener("exit", killOnExit);
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  return handle;
}
