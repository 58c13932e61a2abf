/**
 * probekit/checks/rabbitmq: can the app reach its RabbitMQ broker? Connects
 * with amqplib (imported on the first run), opens a channel, then closes the
 * channel and the connection, as django-health-check's RabbitMQHealthCheck
 * does. A fresh connection per run: nothing is held between probes. Needs
 * Node's TCP sockets (amqplib), so not the edge runtime.
 *
 * @example
 * import { rabbitmq } from "probekit/checks/rabbitmq";
 * rabbitmq({ url: process.env.RABBITMQ_URL });
 */
import { builtinCheck, type Check, type CheckContext, type CommonCheckOptions } from "../core/check.js";
import { ServiceUnavailable, type HealthCheckError } from "../core/errors.js";
import { loadPeer } from "../internal/peer.js";
import { guarded, safeError } from "../internal/safe-errors.js";
import { driverTimeoutMs } from "../core/util.js";

export interface RabbitmqOptions extends CommonCheckOptions {
  /**
   * `amqp://user:pass@host:port/vhost` (or `amqps://`). Never shown in a report.
   * An empty or missing URL (an unset env var) fails the check when it runs.
   */
  url: string | undefined;
  /** @default "rabbitmq" */
  name?: string;
}

/** The part of an amqplib channel the check uses. */
interface AmqpChannel {
  close(): Promise<void>;
  on(event: "error", listener: (error: unknown) => void): unknown;
}

/** The part of an amqplib (promise API) connection the check uses. */
interface AmqpConnection {
  createChannel(): Promise<AmqpChannel>;
  close(): Promise<void>;
  on(event: "error" | "close", listener: (error?: unknown) => void): unknown;
}

/** amqplib's `connect` (0.10 and 2.x), typed by what the check passes and gets back. */
type Connect = (url: string, socketOptions: Record<string, unknown>) => Promise<AmqpConnection>;

/** Shown in the broker's connection list (and management UI) as the connection's name. */
const CONNECTION_NAME = "probekit";

/**
 * Passes when the broker accepts a connection (credentials and vhost included)
 * and opens a channel on it.
 *
 * @example
 * // health.config.ts
 * defineHealthConfig({
 *   subsets: { readiness: [rabbitmq({ url: process.env.RABBITMQ_URL, timeoutMs: 2000 })] },
 * });
 * @example
 * rabbitmq({ name: "events-broker", url: process.env.EVENTS_AMQP_URL, critical: false });
 */
export function rabbitmq(options: RabbitmqOptions): Check {
  // Read once, so a later change to the options object cannot change what runs.
  const url = options.url ?? "";
  return builtinCheck(options, { name: "rabbitmq", componentType: "component" }, async (context) => {
    // An unset RABBITMQ_URL is a deploy mistake the probe should report, not a crash at import.
    if (url === "") throw new ServiceUnavailable("no RabbitMQ URL configured");
    const connect = await loadPeer(WHO, "amqplib", loadConnect, "connect");
    await guarded(context.signal, () => openChannelAndClose(connect, url, context), safeRabbitmqError);
  });
}

const WHO = "probekit/checks/rabbitmq";

function loadConnect(): Promise<{ connect: Connect }> {
  // amqplib is CommonJS: loadPeer finds connect() among the named exports or on `default`.
  return import("amqplib") as unknown as Promise<{ connect: Connect }>;
}

/**
 * Connects, opens a channel, closes both. Once connected, the connection is
 * closed on every path; an abort of `signal` destroys the socket at any stage.
 */
async function openChannelAndClose(connect: Connect, url: string, { signal, timeoutMs }: CheckContext): Promise<void> {
  signal.throwIfAborted();
  const connection = await connect(url, {
    // Below the check's timeout, so a host that accepts and never answers fails as a connect
    // timeout (amqplib's socket idle timeout, lifted once the handshake is done).
    timeout: driverTimeoutMs(timeoutMs),
    // Node's net/tls sockets destroy themselves when this aborts: no socket outlives the runner's timeout.
    signal,
    clientProperties: { connection_name: CONNECTION_NAME },
  });
  const closed = closeOf(connection);
  try {
    const channel = await untilClosed(connection.createChannel(), closed);
    // A channel error is also a rejection of the call that caused it; without a listener it would crash the process.
    channel.on("error", () => {});
    await untilClosed(channel.close(), closed);
  } finally {
    // Rejects when already closed (the broker or an abort closed it), which is what we want anyway.
    await untilClosed(connection.close(), closed).catch(() => {});
  }
}

/**
 * Rejects when the connection closes, with the reason amqplib gives. amqplib
 * leaves pending close() promises unsettled when the socket dies mid-close, so
 * every wait on the connection races this.
 */
function closeOf(connection: AmqpConnection): Promise<never> {
  // The same reason is also emitted as 'error': without a listener that would crash the process.
  connection.on("error", () => {});
  const closed = new Promise<never>((_, reject) => {
    connection.on("close", (error) => reject(error ?? new Error("connection closed")));
  });
  // Nobody may be waiting when it closes (after a clean close, say): not an unhandled rejection.
  closed.catch(() => {});
  return closed;
}

function untilClosed<T>(operation: Promise<T>, closed: Promise<never>): Promise<T> {
  return Promise.race([operation, closed]);
}

/**
 * amqplib reports most AMQP failures as plain Errors without a code, so they
 * are told apart by message; the broker's reply codes are in the AMQP 0-9-1
 * spec (https://www.rabbitmq.com/amqp-0-9-1-reference#constants).
 */
const AMQPLIB_MESSAGES: [RegExp, string][] = [
  // RabbitMQ closes a wrong user or password with 403 ACCESS_REFUSED (amqplib asks for it with the
  // authentication_failure_close capability): "Handshake terminated by server: 403 (ACCESS-REFUSED) …".
  [/^Handshake terminated by server: 403\b/, "authentication failed"],
  [/^Handshake terminated by server:/, "broker refused the connection"],
  // connection.open answered by connection.close (530 NOT_ALLOWED: no such vhost, or no permission on it).
  // amqplib drops the broker's reply text here, so the two cannot be told apart.
  [/^Expected ConnectionOpenOk; got <ConnectionClose/, "vhost not found or access denied"],
  // amqplib's socket idle timeout during the handshake.
  [/^connect ETIMEDOUT$/, "connection timed out"],
  [/^Socket closed abruptly during opening handshake/, "connection closed during handshake"],
  [/^Expected amqp: or amqps: as the protocol/, "invalid RabbitMQ URL (expected amqp:// or amqps://)"],
  // Anything but AMQP on the port (an HTTP server, say) reads as a giant first frame.
  [/^Frame size \d+ exceeds maxFrameSize/, "not an AMQP server"],
  // A close from the broker after the handshake: "Connection closed: 320 (CONNECTION-FORCED) …".
  [/^Connection closed: 320\b/, "connection closed by the broker"],
  [/^Connection closed: (403|530)\b/, "access denied"],
];

/** A ServiceUnavailable naming what failed, never the URL, user, password or host (those stay in the cause). */
function safeRabbitmqError(error: unknown): HealthCheckError {
  // Socket errors carry a code (ECONNREFUSED, ENOTFOUND, …) that the shared table names.
  return safeError(error, { patterns: AMQPLIB_MESSAGES, fallback: "connection failed" });
}
