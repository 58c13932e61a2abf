/** Network pieces the integration tests share: free ports and a listener that never answers. */
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
