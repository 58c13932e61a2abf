/** Network pieces the tests share: free ports, a listener that never answers, a relay that records and cuts what clients send, a restartable HTTP server. */
import { createServer as createHttpServer, type RequestListener, type Server as HttpServer } from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";

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

export interface TcpRelay {
  port: number;
  /** Everything clients have sent through the relay, as latin1 (binary protocols keep their bytes). */
  sent(): string;
  /**
   * The next chunk a client sends is not forwarded, and its connection is reset (RST),
   * closed (FIN) or left waiting ("swallow"); resolves once that chunk has arrived. On a
   * warm pooled connection that chunk is the check's query: a fault in the middle of it.
   */
  cutNext(how: "reset" | "close" | "swallow"): Promise<void>;
  /** The local ports of the relay's open connections to the target (the server's view of its clients). */
  upstreamPorts(): number[];
  /** Drops every open connection and stops listening. */
  close(): void;
}

/** A loopback TCP relay in front of `port`: the wire is where a driver says who it is, and where a query can be cut. */
export async function tcpRelay(port: number): Promise<TcpRelay> {
  let sent = "";
  let pending: { how: "reset" | "close" | "swallow"; cut(): void } | undefined;
  const sockets = new Set<Socket>();
  const upstreams = new Set<Socket>();
  const relay = createServer((client) => {
    const upstream = connect(port, "127.0.0.1");
    upstreams.add(upstream);
    upstream.once("close", () => upstreams.delete(upstream));
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.once("close", () => sockets.delete(socket));
    }
    client.on("data", (chunk: Buffer) => {
      if (pending === undefined) {
        sent += chunk.toString("latin1");
        return void upstream.write(chunk);
      }
      const { how, cut } = pending;
      pending = undefined;
      if (how === "reset") client.resetAndDestroy();
      if (how === "reset" || how === "close") upstream.destroy();
      if (how === "close") client.end();
      cut();
    });
    upstream.on("data", (chunk: Buffer) => client.write(chunk));
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  return {
    port: (relay.address() as { port: number }).port,
    sent: () => sent,
    cutNext: (how) => new Promise<void>((cut) => (pending = { how, cut })),
    upstreamPorts: () => [...upstreams].flatMap((socket) => (socket.localPort === undefined ? [] : [socket.localPort])),
    close() {
      for (const socket of sockets) socket.destroy();
      relay.close();
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
