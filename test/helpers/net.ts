/** Network pieces the tests share: free ports, a listener that never answers, a restartable HTTP server. */
import { createServer as createHttpServer, type RequestListener, type Server as HttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A listener that accepts and never answers, counting the connections the client has not closed yet. */
export async function blackHole(): Promise<{ port: number; open(): number; close(): void }> {
  const sockets = new Set<Socket>();
  const listener: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    // Read (and drop) what the client sends, so its close reaches us as 'end' and then 'close'.
    socket.resume();
  });
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  return {
    port: (listener.address() as { port: number }).port,
    open: () => sockets.size,
    close() {
      for (const socket of sockets) socket.destroy();
      listener.close();
    },
  };
}

/**
 * An HTTP server that can be stopped and started again on the same port, as a
 * fake service going down and coming back: stop() drops every open connection.
 */
export function restartableHttpServer(port: number, handler: RequestListener): { start(): Promise<void>; stop(): Promise<void> } {
  const sockets = new Set<Socket>();
  let server: HttpServer | undefined;
  return {
    start: () =>
      new Promise<void>((resolve, reject) => {
        if (server !== undefined) return resolve(); // already listening
        server = createHttpServer(handler);
        server.on("connection", (socket) => {
          sockets.add(socket);
          socket.on("close", () => sockets.delete(socket));
        });
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => resolve());
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        if (server === undefined) return resolve();
        server.close(() => resolve());
        server = undefined;
      }),
  };
}
