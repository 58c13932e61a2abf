/**
 * A loopback WebSocket-to-TCP proxy speaking what Neon's serverless driver expects of
 * Neon's proxy (`ws://host/v2?address=<db host>:<port>`, raw PostgreSQL bytes in binary
 * frames), in front of the real PostgreSQL of test/helpers/postgres.ts. Point the driver
 * at it with `neonConfig` (see `NEON_TEST_CONFIG`). stop()/start() take it down and up.
 */
import { connect } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { freePort } from "./net.ts";

export interface NeonProxy {
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startNeonProxy(): Promise<NeonProxy> {
  const port = await freePort();
  let server: WebSocketServer | undefined;
  const sockets = new Set<WebSocket>();
  const start = () =>
    new Promise<void>((resolve, reject) => {
      server = new WebSocketServer({ host: "127.0.0.1", port });
      server.once("listening", () => resolve());
      server.once("error", reject);
      server.on("connection", (socket, request) => {
        sockets.add(socket);
        socket.once("close", () => sockets.delete(socket));
        const address = new URL(request.url ?? "/", "http://proxy").searchParams.get("address") ?? "";
        const [host, portText] = address.split(":");
        const upstream = connect(Number(portText), host ?? "127.0.0.1");
        upstream.on("data", (chunk) => socket.send(chunk));
        upstream.on("error", () => socket.close(1011));
        upstream.on("close", () => socket.close());
        socket.on("message", (data) => upstream.write(data as Buffer));
        socket.on("close", () => upstream.destroy());
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.terminate();
      if (server === undefined) return resolve();
      server.close(() => resolve());
      server = undefined;
    });
  await start();
  return { port, stop, start };
}

/** The `neonConfig` fields that send the driver to the proxy, unencrypted, one round trip at a time. */
export function neonTestConfig(proxyPort: number) {
  return {
    wsProxy: (host: string, port: number | string) => `127.0.0.1:${proxyPort}/v2?address=${host}:${port}`,
    useSecureWebSocket: false,
    pipelineConnect: false as const,
    pipelineTLS: false,
    forceDisablePgSSL: true,
  };
}
