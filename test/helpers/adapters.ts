/**
 * The two ways probekit answers HTTP, behind one signature, so a suite can run
 * the same requests against both: the Fetch handler called directly, and the
 * node:http handler on a real server on 127.0.0.1 reached with fetch.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { handleHealthRequest, type HealthConfig, type HealthRequestOptions } from "../../src/index.ts";
import { createNodeHandler } from "../../src/node/index.ts";

export interface Adapter {
  name: string;
  /** Answers `path` (with its query) under the given config and options. */
  serve(config: HealthConfig, path: string, init?: RequestInit, options?: HealthRequestOptions): Promise<Response>;
  /** A path a fixed-subset handler answers on. */
  fixedPath: string;
  close(): Promise<void>;
}

export const fetchAdapter: Adapter = {
  name: "handleHealthRequest (Fetch)",
  serve: (config, path, init, options) => handleHealthRequest(new Request(`http://app.test${path}`, init), config, options),
  fixedPath: "/anything/at/all",
  close: async () => {},
};

/** One server per config and options, started on first use. */
function nodeAdapter(): Adapter {
  const servers = new Map<HealthConfig, Map<string | undefined, Promise<{ server: Server; origin: string }>>>();
  const serverFor = (config: HealthConfig, subset: string | undefined) => {
    let bySubset = servers.get(config);
    if (!bySubset) servers.set(config, (bySubset = new Map()));
    let started = bySubset.get(subset);
    if (!started) {
      started = new Promise((resolve, reject) => {
        const server = createServer(createNodeHandler(config, { subset }));
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
      });
      bySubset.set(subset, started);
    }
    return started;
  };
  return {
    name: "createNodeHandler (node:http)",
    async serve(config, path, init, options) {
      const { origin } = await serverFor(config, options?.subset);
      return fetch(`${origin}${path}`, { ...init, redirect: "manual" });
    },
    fixedPath: "/healthcheck",
    async close() {
      for (const bySubset of servers.values()) {
        for (const started of bySubset.values()) {
          const { server } = await started;
          server.closeAllConnections();
          await new Promise((resolve) => server.close(resolve));
        }
      }
      servers.clear();
    },
  };
}

export const ADAPTERS: Adapter[] = [fetchAdapter, nodeAdapter()];
