/**
 * HTTP/1.1 written byte for byte to a socket, for the requests fetch refuses to
 * send or quietly normalizes: lowercase or unknown methods, CONNECT, raw `..`
 * and backslashes, duplicate or oversized headers, non-ASCII bytes.
 */
import { once } from "node:events";
import { createServer, type RequestListener } from "node:http";
import { connect, type AddressInfo } from "node:net";

/** A node:http server on 127.0.0.1 to send raw requests to; `close()` drops its connections too. */
export async function listenLocally(listener: RequestListener): Promise<{ port: number; close(): void }> {
  const server = createServer(listener).listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

export interface RawResponse {
  /** The status code, or undefined when the server closed the connection without answering. */
  status: number | undefined;
  /** Header names in lowercase; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The body, de-chunked, decoded as UTF-8. */
  body: string;
}

/**
 * Sends `head` (request line and headers, without the blank line that ends them:
 * it is added, with `Connection: close`) and resolves when the server closes.
 *
 * @example
 * await rawRequest(port, "get /healthcheck/readiness HTTP/1.1\r\nHost: x");
 */
export function rawRequest(port: number, head: string | Buffer, timeoutMs = 5000): Promise<RawResponse> {
  const bytes = Buffer.concat([typeof head === "string" ? Buffer.from(head, "latin1") : head, Buffer.from("\r\nConnection: close\r\n\r\n", "latin1")]);
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw request got no close within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("data", (chunk) => chunks.push(chunk));
    // A reset after the server's answer (it closes while we still write) is still an answer.
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(parseResponse(Buffer.concat(chunks)));
    });
    // Never half-close: node:http aborts a request whose client ended its side before the answer.
    socket.write(bytes);
  });
}

function parseResponse(raw: Buffer): RawResponse {
  const end = raw.indexOf("\r\n\r\n");
  if (end === -1) return { status: undefined, headers: {}, body: "" };
  const [statusLine, ...lines] = raw.subarray(0, end).toString("latin1").split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  let body = raw.subarray(end + 4);
  if (headers["transfer-encoding"]?.toLowerCase() === "chunked") body = dechunk(body);
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1]) || undefined, headers, body: body.toString("utf8") };
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf("\r\n", at);
    if (lineEnd === -1) break;
    const size = Number.parseInt(data.subarray(at, lineEnd).toString("latin1"), 16);
    if (!(size > 0)) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
