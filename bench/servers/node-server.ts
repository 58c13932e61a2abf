/**
 * One contender of the node:http benchmarks, in a process of its own so the
 * load generator never shares its event loop: `node --import tsx
 * bench/servers/node-server.ts <contender>`. Listens on 127.0.0.1 (PORT, or
 * any free port) and prints `listening <port>` once it answers.
 *
 * Every health contender serves the same three no-op checks.
 */
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { constantAnswer, importDist, noopReadinessConfig, READINESS_PATH, slowCheckConfig, type Core, type NodeEntry } from "../dist.ts";

const NODE_CONTENDERS = ["raw", "probekit-node", "terminus", "lightship", "fetch-constant", "fetch-probekit", "fetch-probekit-ttl0", "coalescing"] as const;
/** The contenders this script serves (import it with `import type`: the module starts a server). */
export type NodeContender = (typeof NODE_CONTENDERS)[number];

const contender = process.argv[2] as NodeContender;
if (!NODE_CONTENDERS.includes(contender)) throw new Error(`usage: node-server.ts <${NODE_CONTENDERS.join("|")}>`);
const port = Number(process.env.PORT ?? 0);
/** How long the coalescing contender's `slow` check takes. */
const SLOW_CHECK_MS = Number(process.env.SLOW_CHECK_MS ?? 50);

// --cpu-prof writes its profile on a normal exit only.
process.on("SIGTERM", () => process.exit(0));

const core = await importDist<Core>("index.js");
const config = noopReadinessConfig(core, contender === "fetch-probekit-ttl0" ? { cacheTtlMs: 0 } : {});
const constant = await constantAnswer(core, config);

switch (contender) {
  case "raw":
    // The ceiling: the same status, headers and body as probekit's answer, with no work at all.
    await listen((_request, response) => {
      response.writeHead(constant.status, constant.headers);
      response.end(constant.body);
    });
    break;
  case "probekit-node": {
    const { createNodeHandler } = await importDist<NodeEntry>("node/index.js");
    await listen(createNodeHandler(config));
    break;
  }
  case "terminus": {
    const { createTerminus } = await import("@godaddy/terminus");
    const server = createServer((_request, response) => {
      response.writeHead(404);
      response.end();
    });
    const signal = new AbortController().signal;
    const checks = config.subsets.readiness!.map((entry) => (typeof entry === "function" ? entry() : entry));
    createTerminus(server, {
      healthChecks: {
        [READINESS_PATH]: async () => {
          await Promise.all(checks.map((check) => check.check({ signal, timeoutMs: 3000 })));
        },
      },
      logger: () => {},
    });
    await listenWith(server);
    break;
  }
  case "lightship": {
    // Lightship runs its own (Fastify) server; readiness is a flag set by signalReady(), not checks.
    const { createLightship } = await import("lightship");
    const lightship = await createLightship({ detectKubernetes: false, port, signals: [], shutdownDelay: 0 });
    lightship.signalReady();
    const address = lightship.server.address();
    console.log(`listening ${typeof address === "object" && address !== null ? address.port : port}`);
    break;
  }
  case "coalescing": {
    const { createNodeHandler } = await importDist<NodeEntry>("node/index.js");
    const coalescing = slowCheckConfig(core, SLOW_CHECK_MS);
    await listen(createNodeHandler(coalescing));
    break;
  }
  case "fetch-constant":
    await listen(fetchListener(() => new Response(constant.body, { status: constant.status, headers: constant.headers })));
    break;
  case "fetch-probekit":
  case "fetch-probekit-ttl0":
    await listen(fetchListener((request) => core.handleHealthRequest(request, config)));
    break;
}

function listen(listener: RequestListener): Promise<void> {
  return listenWith(createServer(listener));
}

function listenWith(server: ReturnType<typeof createServer>): Promise<void> {
  return new Promise((resolve) => {
    // A backlog above Node's 511, so a burst of 1,000 connections never waits for a SYN retransmit (1 s).
    server.listen({ port, host: "127.0.0.1", backlog: 2048 }, () => {
      console.log(`listening ${(server.address() as { port: number }).port}`);
      resolve();
    });
  });
}

/**
 * node:http ↔ Fetch, the way Fetch-first frameworks adapt to Node: a `Request`
 * built from the IncomingMessage, the `Response` written back. Both Fetch
 * contenders pay for it alike, so their ratio is the handler's own cost.
 */
function fetchListener(handler: (request: Request) => Response | Promise<Response>): RequestListener {
  return (incoming, response) => {
    let request: Request;
    try {
      request = toRequest(incoming);
    } catch {
      response.writeHead(400).end();
      return;
    }
    Promise.resolve()
      .then(() => handler(request))
      .then((answer) => writeResponse(answer, response))
      .catch(() => {
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
  };
}

function toRequest(incoming: IncomingMessage): Request {
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const method = incoming.method ?? "GET";
  const init: RequestInit & { duplex?: "half" } = { method, headers };
  if (method !== "GET" && method !== "HEAD") {
    init.body = Readable.toWeb(incoming) as ReadableStream<Uint8Array>;
    init.duplex = "half";
  }
  return new Request(`http://${incoming.headers.host ?? "localhost"}${incoming.url ?? "/"}`, init);
}

async function writeResponse(answer: Response, response: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  answer.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const body = answer.body === null ? undefined : Buffer.from(await answer.arrayBuffer());
  response.writeHead(answer.status, headers);
  response.end(body);
}
