/**
 * One contender of the Bun benchmark: `node_modules/.bin/bun bench/servers/bun-server.ts
 * <probekit|constant|reads>`. Bun.serve on 127.0.0.1 (any free port), printing
 * `listening <port>`. `probekit` is the README's wiring, liveness in front of
 * handleHealthRequest; `constant` sends probekit's answer as a fixed Response; `reads`
 * sends it too, after reading what any handler answering by path and Accept must read.
 */
import { constantAnswer, importDist, noopReadinessConfig, type Core, type MiddlewareEntry } from "../dist.ts";

/** The part of Bun's API this script uses (the repo has no Bun types). */
declare const Bun: {
  serve(options: { port: number; hostname: string; fetch: (request: Request) => Response | Promise<Response> }): { port: number };
};

// --cpu-prof writes its profile on a normal exit only.
process.on("SIGTERM", () => process.exit(0));

const contender = process.argv[2];
if (contender !== "probekit" && contender !== "constant" && contender !== "reads") throw new Error("usage: bun bun-server.ts <probekit|constant|reads>");

const core = await importDist<Core>("index.js");
const { liveness } = await importDist<MiddlewareEntry>("middleware/index.js");
const config = noopReadinessConfig(core);
const constant = await constantAnswer(core, config);

const answer = () => new Response(constant.body, { status: constant.status, headers: constant.headers });
/** What the `reads` contender read, kept so the reads cannot be optimized away. */
const read: unknown[] = [];
const fetch =
  contender === "probekit"
    ? (request: Request) => liveness(request) ?? core.handleHealthRequest(request, config)
    : contender === "reads"
      ? (request: Request) => {
          const { headers } = request;
          read[0] = request.method;
          read[1] = request.url;
          read[2] = headers.get("accept");
          read[3] = headers.get("authorization");
          return answer();
        }
      : answer;

const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch });
console.log(`listening ${server.port}`);
