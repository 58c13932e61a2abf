/**
 * A local server speaking the Edge Config read protocol as @vercel/edge-config
 * 1.5 sends it (node_modules/@vercel/edge-config/dist/index.js), so the real
 * client can be tested here: the hosted edge-config.vercel.com cannot run on
 * this machine. What it implements, under `/<edgeConfigId>`:
 *
 * - `GET  /<id>/item/<key>?version=1` → the item as JSON; a missing item → 404
 *   `{"error":{"code":"edge_config_item_not_found"}}` *with* `x-edge-config-digest`
 *   (the client reads that header as "the config exists, the item does not")
 * - `HEAD /<id>/item/<key>?version=1` → `has()`: the same statuses, no body
 * - `GET  /<id>/items?version=1[&key=a&key=b]` → all items, or only those keys
 * - `GET  /<id>/digest?version=1` → the digest as a JSON string
 * - `Authorization: Bearer <token>`: wrong or missing → 401; an unknown id → 404
 *   without `x-edge-config-digest` (the client's "Edge Config not found")
 * - a `version` other than 1 → 400
 * - every answer about the config carries `x-edge-config-digest`; a GET carries an
 *   `ETag` and `If-None-Match` → 304, which is what feeds the client's in-process
 *   stale-if-error cache
 * - request headers the client sends (`cache-control: stale-if-error=…`,
 *   `x-edge-config-min-updated-at` for `consistentRead`, `x-edge-config-sdk`,
 *   `x-edge-config-vercel-env`) are recorded for assertions
 *
 * The client takes any URL whose path starts with the id and has a `token`
 * parameter as an "external" connection string (`parseExternalConnectionStringFromUrl`):
 * `http://127.0.0.1:<port>/<id>?token=<token>` reads from `http://127.0.0.1:<port>/<id>`.
 *
 * Test controls: setItems(), stop() and start() on the same port, hang() to accept
 * requests and never answer, delay() to answer slowly, failWith() to answer every
 * request with one status.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { freePort, restartableHttpServer } from "./net.ts";

export type EdgeConfigValue = string | number | boolean | null | EdgeConfigValue[] | { [key: string]: EdgeConfigValue };

/** One request as the server saw it. */
export interface RecordedRequest {
  method: string;
  /** Path without the query, e.g. `/ecfg_test/item/flags`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
}

export interface EdgeConfigServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  id: string;
  token: string;
  /** What to give `createClient` or `EDGE_CONFIG`: `http://127.0.0.1:<port>/<id>?token=<token>`. */
  connectionString: string;
  /** The same server with another token or id (to test a wrong one). */
  connectionStringWith(parts: { token?: string; id?: string }): string;
  /** Every request served so far, oldest first. */
  requests: RecordedRequest[];
  /** Replaces the config's items (and so its digest). */
  setItems(items: Record<string, EdgeConfigValue>): void;
  /** The current digest, as `digest()` returns it. */
  digest(): string;
  /** Closes the listener and every open connection. */
  stop(): Promise<void>;
  /** Listens again on the same port (nothing when already listening). */
  start(): Promise<void>;
  /** Accept requests but never answer them (until hang(false), or stop()). */
  hang(on: boolean): void;
  /** Answer every request after `ms` (0: at once). */
  delay(ms: number): void;
  /** Answer every request with this status (undefined: serve normally). */
  failWith(status: number | undefined): void;
  close(): Promise<void>;
}

export async function startEdgeConfigServer(options: { id?: string; token?: string; items?: Record<string, EdgeConfigValue> } = {}): Promise<EdgeConfigServer> {
  const id = options.id ?? "ecfg_probekittest0000000000000";
  const token = options.token ?? "00000000-aaaa-4bbb-8ccc-edgeconfig01";
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const requests: RecordedRequest[] = [];
  const hung = new Set<ServerResponse>();
  let items: Record<string, EdgeConfigValue> = options.items ?? {};
  let digest = digestOf(items);
  let hanging = false;
  let delayMs = 0;
  let failStatus: number | undefined;

  function handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? "/", origin);
    requests.push({ method: request.method ?? "", path: url.pathname, query: url.searchParams, headers: request.headers });
    if (hanging) {
      hung.add(response);
      return;
    }
    const answer = () => respond(request, response, url);
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  }

  function respond(request: IncomingMessage, response: ServerResponse, url: URL): void {
    if (response.destroyed) return;
    const method = request.method ?? "GET";
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = body === undefined ? "" : JSON.stringify(body);
      response.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "private, no-store", ...headers });
      response.end(method === "HEAD" ? undefined : text);
    };
    const error = (status: number, code: string, message: string, headers: Record<string, string> = {}) => send(status, { error: { code, message } }, headers);

    if (failStatus !== undefined) return error(failStatus, "forced_failure", `forced status ${failStatus}`);
    if (method !== "GET" && method !== "HEAD") return error(405, "method_not_allowed", "Only GET and HEAD are supported", { allow: "GET, HEAD" });
    if (request.headers.authorization !== `Bearer ${token}`) return error(401, "unauthorized", "Unauthorized");
    const [, configId, route, ...rest] = url.pathname.split("/");
    if (configId !== id) return error(404, "edge_config_not_found", "Could not find the edge config");
    if (url.searchParams.get("version") !== "1") return error(400, "bad_request", "Unsupported version");

    const about = { "x-edge-config-digest": digest };
    const ok = (body: EdgeConfigValue) => {
      const etag = `"${createHash("sha1").update(`${digest}:${JSON.stringify(body)}`).digest("hex").slice(0, 20)}"`;
      if (method === "GET" && request.headers["if-none-match"] === etag) return send(304, undefined, { ...about, etag });
      send(200, body, { ...about, etag });
    };

    if (route === "item" && rest.length === 1) {
      const key = decodeURIComponent(rest[0]!);
      if (!Object.hasOwn(items, key)) return error(404, "edge_config_item_not_found", "Could not find the edge config item", about);
      return ok(items[key]!);
    }
    if (method === "GET" && route === "items" && rest.length === 0) {
      const keys = url.searchParams.getAll("key");
      if (keys.length === 0) return ok(items);
      return ok(Object.fromEntries(keys.filter((key) => Object.hasOwn(items, key)).map((key) => [key, items[key]!])));
    }
    if (method === "GET" && route === "digest" && rest.length === 0) return ok(digest);
    return error(404, "not_found", "Not found", about);
  }

  const http = restartableHttpServer(port, handle);
  const start = () => {
    hanging = false;
    return http.start();
  };
  const stop = () => {
    hung.clear();
    return http.stop();
  };

  await start();
  const connectionStringWith = (parts: { token?: string; id?: string }) =>
    `${origin}/${encodeURIComponent(parts.id ?? id)}?token=${encodeURIComponent(parts.token ?? token)}`;
  return {
    origin,
    id,
    token,
    connectionString: connectionStringWith({}),
    connectionStringWith,
    requests,
    setItems(next) {
      items = next;
      digest = digestOf(items);
    },
    digest: () => digest,
    stop,
    start,
    hang(on) {
      hanging = on;
      if (!on) {
        for (const response of hung) response.destroy();
        hung.clear();
      }
    },
    delay(ms) {
      delayMs = ms;
    },
    failWith(status) {
      failStatus = status;
    },
    close: stop,
  };
}

function digestOf(items: Record<string, EdgeConfigValue>): string {
  return createHash("sha256").update(JSON.stringify(items)).digest("hex").slice(0, 16);
}
