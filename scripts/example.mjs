/**
 * `npm run example`: installs app-example against this checkout (after `npm run
 * build`), builds it, starts it on 127.0.0.1 and prints the probe URLs.
 * PORT changes the port (3000); DATABASE_URL, REDIS_URL and the UPSTASH_REDIS_REST_*
 * pair add their checks.
 */
import { spawn, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const app = fileURLToPath(new URL("../app-example", import.meta.url));
const port = process.env.PORT ?? "3000";
const next = `${app}/node_modules/next/dist/bin/next`;
const env = { ...process.env, PORT: port, NEXT_TELEMETRY_DISABLED: "1", NEXT_MANUAL_SIG_HANDLE: "1" };

function run(command, args) {
  console.log(`\n> ${command} ${args.join(" ")}   (in app-example/)`);
  const result = spawnSync(command, args, { cwd: app, env, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

// `file:..` is installed as a packed copy: remove the old one so the fresh build is what gets copied.
rmSync(`${app}/node_modules/probekit`, { recursive: true, force: true });
run("npm", ["install", "--no-audit", "--no-fund"]);
run(process.execPath, [next, "build"]);

const server = spawn(process.execPath, [next, "start", "-H", "127.0.0.1", "-p", port], { cwd: app, env, stdio: ["ignore", "pipe", "inherit"] });
let announced = false;
server.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  if (announced || !/Ready/.test(String(chunk))) return;
  announced = true;
  const base = `http://127.0.0.1:${port}`;
  console.log(`
probekit example is up. The probes:
  ${base}/healthcheck/liveness        answered by withLiveness in proxy.ts
  ${base}/healthcheck/readiness       add ?format=json, or open it in a browser
  ${base}/healthcheck/integrations
  ${base}/edge/healthcheck/readiness  the same handler on the edge runtime
The worker's exec probe, in another terminal:
  cd app-example && npm run worker
  cd app-example && npx probekit -s liveness --skip-checks
Ctrl-C stops the server.`);
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.kill(signal));
server.on("exit", (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
