/**
 * A local server speaking Upstash Redis's REST protocol, backed by a real Redis
 * over RESP, so the real @upstash/redis client can be tested here (the hosted
 * service cannot run on this machine). What it implements, as the client uses it:
 *
 * - `POST /` with a JSON array command → `{"result": …}`, or 400 `{"error": …}`
 * - `POST /pipeline` and `POST /multi-exec` with an array of commands → an array of
 *   `{"result"}` / `{"error"}` (multi-exec runs them in MULTI/EXEC)
 * - `Authorization: Bearer <token>`; a wrong or missing token → 401 `{"error"}`
 * - `Upstash-Encoding: base64` → every string in a result base64-encoded
 * - `upstash-sync-token` echoed back (read-your-writes)
 *
 * Test controls: stop() and start() on the same port, hang() to accept requests
 * and never answer.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Redis } from "ioredis";
import { freePort, restartableHttpServer } from "./net.ts";

export interface UpstashServer {
  url: string;
  token: string;
  /** Requests served so far, by path. */
  requests: string[];
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Accept requests but never answer them (until start() again). */
  hang(on: boolean): void;
  close(): Promise<void>;
}

type Command = (string | number)[];

export async function startUpstashServer(redisUrl: string, token = "upstash-test-token"): Promise<UpstashServer> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  // Redis may be stopped under it by a test; requests then fail, the process must not.
  redis.on("error", () => {});
  await redis.connect();
  const port = await freePort();
  const requests: string[] = [];
  let hanging = false;
  let syncToken = 0;

  async function execute(command: Command): Promise<{ result?: unknown; error?: string }> {
    if (!Array.isArray(command) || command.length === 0) return { error: "ERR invalid command" };
    try {
      const [name, ...args] = command.map(String);
      return { result: await redis.call(name!, ...args) };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    requests.push(request.url ?? "");
    if (hanging) return;
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json", "upstash-sync-token": String(++syncToken) });
      response.end(JSON.stringify(body));
    };
    if (request.method !== "POST") return send(405, { error: "ERR only POST is supported" });
    if (request.headers.authorization !== `Bearer ${token}`) return send(401, { error: "WRONGPASS invalid or missing auth token" });
    let raw = "";
    for await (const chunk of request) raw += chunk;
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return send(400, { error: "ERR failed to parse command" });
    }
    const base64 = String(request.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const encode = (value: unknown): unknown =>
      typeof value === "string" ? (base64 ? Buffer.from(value).toString("base64") : value) : Array.isArray(value) ? value.map(encode) : value;
    const path = (request.url ?? "/").split("?")[0];
    if (path === "/") {
      const { result, error } = await execute(body as Command);
      return error === undefined ? send(200, { result: encode(result) }) : send(400, { error });
    }
    if (path === "/pipeline" || path === "/multi-exec") {
      if (!Array.isArray(body)) return send(400, { error: "ERR a pipeline is an array of commands" });
      const results: { result?: unknown; error?: string }[] = [];
      if (path === "/multi-exec") await redis.call("MULTI");
      for (const command of body as Command[]) results.push(await execute(command));
      if (path === "/multi-exec") {
        const executed = (await redis.call("EXEC")) as unknown[];
        return send(200, executed.map((result) => ({ result: encode(result) })));
      }
      return send(200, results.map(({ result, error }) => (error === undefined ? { result: encode(result) } : { error })));
    }
    return send(404, { error: "ERR unknown path" });
  }

  const http = restartableHttpServer(port, (request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.writeHead(500);
      response.end(JSON.stringify({ error: String(error) }));
    });
  });
  const start = () => {
    hanging = false;
    return http.start();
  };
  const stop = http.stop;

  await start();
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    requests,
    stop,
    start,
    hang: (on) => void (hanging = on),
    close: async () => {
      await stop();
      redis.disconnect();
    },
  };
}
