/**
 * One contender of the Bun benchmark: `node_modules/.bin/bun bench/servers/bun-server.ts
 * <probekit|constant>`. Bun.serve on 127.0.0.1 (any free port), printing
 * `listening <port>`. `probekit` is the README's wiring, liveness in front of
 * handleHealthRequest; `constant` sends probekit's answer as a fixed Response.
 */
import { constantAnswer, importDist, noopReadinessConfig, type Core, type MiddlewareEntry } from "../dist.ts";

/** The part of Bun's API this script uses (the repo has no Bun types). */
declare const Bun: {
  serve(options: { port: number; hostname: string; fetch: (request: Request) => Response | Promise<Response> }): { port: number };
};

// --cpu-prof writes its profile on a normal exit only.
process.on("SIGTERM", () => process.exit(0));

const contender = process.argv[2];
if (contender !== "probekit" && contender !== "constant") throw new Error("usage: bun bun-server.ts <probekit|constant>");

const core = await importDist<Core>("index.js");
const { liveness } = await importDist<MiddlewareEntry>("middleware/index.js");
const config = noopReadinessConfig(core);
const constant = await constantAnswer(core, config);

const fetch =
  contender === "probekit"
    ? (request: Request) => liveness(request) ?? core.handleHealthRequest(request, config)
    : () => new Response(constant.body, { status: constant.status, headers: constant.headers });

const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch });
console.log(`listening ${server.port}`);
