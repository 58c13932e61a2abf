/**
 * probekit/checks/nats: can the app reach its NATS server? Connects (credentials
 * included), flushes — a PING the server must answer with a PONG — and closes, with a
 * fresh connection per run and `reconnect: false`; or flushes the app's own connection.
 * The client is `@nats-io/transport-node` (v3, loaded on the first run), or the
 * `connect` you pass (from `nats` v2). Needs Node's TCP sockets: not the edge runtime.
 *
 * Both clients leave a socket open when their connect times out before the server's
 * INFO arrives (a black-holed or paused server), which keeps the process alive; so the
 * check first waits for INFO itself, on a socket it destroys, and hands the client only
 * the first server that sent one.
 *
 * @example
 * import { natsPing } from "probekit/checks/nats";
 * natsPing({ servers: process.env.NATS_URL, user: "app", pass: process.env.NATS_PASSWORD });
 */
import { connect as tcpConnect } from "node:net";
import { builtinCheck, type Check, type CheckContext, type CommonCheckOptions } from "../core/check.js";
import { ServiceUnavailable, type HealthCheckError } from "../core/errors.js";
import { driverTimeoutMs } from "../core/util.js";
import { loadPeer } from "../internal/peer.js";
import { guarded, safeError } from "../internal/safe-errors.js";

/** The part of a NATS connection (nats v2 or @nats-io/transport-node v3) the check uses. */
export interface NatsConnection {
  flush(): Promise<void>;
  close(): Promise<void>;
  isClosed(): boolean;
}

/** `connect` of `nats` v2 or `@nats-io/transport-node` v3, typed by what the check passes. */
export type NatsConnect = (options: Record<string, unknown>) => Promise<NatsConnection>;

export interface NatsPingOptions extends CommonCheckOptions {
  /** The app's connection: flushed, never closed by the check. */
  client?: Pick<NatsConnection, "flush" | "isClosed">;
  /** `nats://host:4222` (credentials may be in the URL), or several. Never shown in a report. */
  servers?: string | readonly string[];
  user?: string;
  pass?: string;
  token?: string;
  /** `connect` from `nats` (v2); default: `@nats-io/transport-node` (v3), which must then be installed. */
  connect?: NatsConnect;
  /** @default "nats" */
  name?: string;
}

const WHO = "probekit/checks/nats";

/**
 * Passes when the server answers a flush (PING/PONG); reports its round trip in ms.
 *
 * @example
 * natsPing({ client: nc }); // the app's connection
 */
export function natsPing(options: NatsPingOptions): Check {
  const { client } = options;
  if (client !== undefined && (options.servers !== undefined || options.connect !== undefined)) throw new TypeError(`${WHO}: pass either client or servers, not both`);
  if (client !== undefined && typeof client.flush !== "function") throw new TypeError(`${WHO}: client must be a NATS connection (with flush())`);
  const listed = typeof options.servers === "string" ? (options.servers === "" ? [] : [options.servers]) : [...(options.servers ?? [])];
  // Credentials in a URL (nats://user:pass@host, nats://token@host) are read here: v3 ignores them.
  const { servers, fromUrl } = splitCredentials(listed);
  const credentials = options.user !== undefined || options.token !== undefined ? { user: options.user, pass: options.pass, token: options.token } : fromUrl;
  return builtinCheck(options, { name: "nats", componentType: "component" }, async (context) => {
    if (client !== undefined) {
      if (client.isClosed()) throw new ServiceUnavailable("the connection is closed");
      return guarded(context.signal, () => timedFlush(client), safeNatsError);
    }
    // An unset NATS_URL is a deploy mistake the probe reports, not a crash at import.
    if (servers.length === 0) throw new ServiceUnavailable("no NATS servers configured");
    const connect = options.connect ?? (await loadPeer(WHO, "@nats-io/transport-node", () => import("@nats-io/transport-node") as unknown as Promise<{ connect: NatsConnect }>, "connect"));
    return guarded(context.signal, () => connectFlushClose(connect, servers, credentials, context), safeNatsError);
  });
}

function splitCredentials(servers: string[]): { servers: string[]; fromUrl: Record<string, string | undefined> } {
  let fromUrl: Record<string, string | undefined> = {};
  const bare = servers.map((server) => {
    const match = /^([a-z]+:\/\/)([^@/]*)@(.*)$/i.exec(server);
    if (match === null) return server;
    const [user = "", pass] = match[2]!.split(":").map(decodeURIComponent);
    if (fromUrl.user === undefined && fromUrl.token === undefined) fromUrl = pass === undefined ? { token: user } : { user, pass };
    return match[1]! + match[3]!;
  });
  return { servers: bare, fromUrl };
}

async function timedFlush(connection: Pick<NatsConnection, "flush">) {
  const started = performance.now();
  await connection.flush();
  return { observedValue: Math.round((performance.now() - started) * 100) / 100, observedUnit: "ms" };
}

/** A connection for this run only: closed on every path, and at once when `signal` aborts. */
async function connectFlushClose(connect: NatsConnect, servers: string[], credentials: Record<string, string | undefined>, { signal, timeoutMs }: CheckContext) {
  const given = Object.fromEntries(Object.entries(credentials).filter(([, value]) => value !== undefined));
  const answering = await firstServerSendingInfo(servers, driverTimeoutMs(timeoutMs), signal);
  const connecting = connect({ servers: [answering], noRandomize: true, ...given, name: "probekit", reconnect: false, timeout: driverTimeoutMs(timeoutMs), noEcho: true, pingInterval: 60_000, maxPingOut: 1 });
  // Connected after the abort (the runner gave up): closed as soon as it arrives.
  const late = () => void connecting.then((connection) => connection.close()).catch(() => {});
  signal.addEventListener("abort", late, { once: true });
  let connection: NatsConnection | undefined;
  try {
    connection = await connecting;
    return await timedFlush(connection);
  } finally {
    signal.removeEventListener("abort", late);
    if (connection !== undefined && !connection.isClosed()) await connection.close().catch(() => {});
  }
}

/**
 * The first server to send its INFO line within `ms`, each tried on a socket destroyed as
 * soon as it has answered, failed or timed out; the others are dropped then, so a
 * black-holed member of a cluster costs no wait. None answering throws the first
 * listed server's failure (refused, timed out, …).
 */
async function firstServerSendingInfo(servers: string[], ms: number, signal: AbortSignal): Promise<string> {
  const answered = new AbortController();
  const asking = AbortSignal.any([signal, answered.signal]);
  try {
    return await Promise.any(servers.map((server) => infoFrom(server, ms, asking).then(() => server)));
  } catch (error) {
    throw error instanceof AggregateError ? error.errors[0] : error;
  } finally {
    answered.abort();
  }
}

function infoFrom(server: string, ms: number, signal: AbortSignal): Promise<void> {
  const url = new URL(/^[a-z]+:\/\//i.test(server) ? server : `nats://${server}`);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(url.port || 4222);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    const done = (error?: Error) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", aborted);
      socket.destroy();
      if (error === undefined) resolve();
      else reject(error);
    };
    const timer = setTimeout(() => done(Object.assign(new Error("no INFO from the server in time"), { code: "CONNECTION_TIMEOUT" })), ms);
    const aborted = () => done(signal.reason as Error);
    signal.addEventListener("abort", aborted, { once: true });
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      if (received.length >= 5) done(received.startsWith("INFO ") ? undefined : Object.assign(new Error("not a NATS server"), { code: "NOT_NATS" }));
    });
    socket.once("error", (error) => done(error));
    socket.once("close", () => done(Object.assign(new Error("closed before INFO"), { code: "CONNECTION_CLOSED" })));
  });
}

/** nats v2 names failures by code; v3 by error class and message. */
function safeNatsError(error: unknown): HealthCheckError {
  return safeError(error, {
    codes: {
      AUTHORIZATION_VIOLATION: "authentication failed",
      AUTHENTICATION_EXPIRED: "authentication failed",
      PERMISSIONS_VIOLATION: "permission denied",
      CONNECTION_REFUSED: "connection refused",
      CONNECTION_CLOSED: "connection closed",
      CONNECTION_TIMEOUT: "connection timed out",
      TIMEOUT: "connection timed out",
      NOT_NATS: "not a NATS server",
    },
    patterns: [
      [/authorization violation|authentication (expired|timeout)/i, "authentication failed"],
      [/permissions violation/i, "permission denied"],
      [/^connection refused$/i, "connection refused"],
      [/^timeout$/i, "connection timed out"],
      [/closed/i, "connection closed"],
    ],
    fallback: "connection failed",
  });
}
