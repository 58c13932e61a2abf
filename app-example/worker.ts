/**
 * A queue worker that binds no port. It touches a heartbeat file every second;
 * Kubernetes asks `probekit -s liveness --skip-checks` (an exec probe) whether
 * the file is fresh, and restarts the pod when it is not.
 */
import { startFileHeartbeat } from "probekit/checks/file-heartbeat";
import { workerHeartbeatFile } from "./health.config";

const stopHeartbeat = startFileHeartbeat({
  file: workerHeartbeatFile,
  onError: (error) => console.error("worker: heartbeat write failed", error),
});

// Stands in for the worker's real job loop; the heartbeat's timer never keeps the process alive, this does.
let jobs = 0;
const loop = setInterval(() => {
  jobs += 1;
}, 1000);

function shutdown(signal: string) {
  console.log(`worker: ${signal}, stopping after ${jobs} jobs`);
  clearInterval(loop);
  stopHeartbeat();
}
process.once("SIGTERM", () => shutdown("SIGTERM"));
process.once("SIGINT", () => shutdown("SIGINT"));

console.log(`worker: started (pid ${process.pid}), heartbeat in ${workerHeartbeatFile}`);
