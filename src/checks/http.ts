/**
 * probekit/checks/http: is an HTTP dependency answering? Uses `fetch` with the
 * check's abort signal, so it runs on every runtime, the edge included.
 *
 * @example
 * import { httpEndpoint } from "probekit/checks/http";
 * httpEndpoint({ url: "https://payments.internal/health", expectStatus: 200 });
 */
import { builtinCheck, type Check, type CommonCheckOptions } from "../core/check.js";
import { ServiceUnavailable } from "../core/errors.js";
import { isAbortOf, unavailable } from "../core/safe-errors.js";

/** A status, a list of statuses, an inclusive range, or a predicate. */
export type ExpectedStatus = number | readonly number[] | { min: number; max: number } | ((status: number) => boolean);

export interface HttpEndpointOptions extends CommonCheckOptions {
  /** What to request. Its credentials and query string never appear in a report; the default name shows host and path. */
  url: string | URL;
  /** @default "GET" */
  method?: string;
  /**
   * The statuses that mean healthy. Redirects are not followed, so a 3xx is a status like any other.
   * @default { min: 200, max: 399 }
   */
  expectStatus?: ExpectedStatus;
  /** Request headers (for example an API key); never shown in reports. */
  headers?: HeadersInit;
  /** @default "component" */
  componentType?: string;
}

/**
 * A check that requests `url` and passes when the status is expected.
 *
 * @example
 * httpEndpoint({ name: "search", url: process.env.SEARCH_URL + "/_cluster/health", critical: false });
 */
export function httpEndpoint(options: HttpEndpointOptions): Check {
  const url = new URL(options.url);
  const method = (options.method ?? "GET").toUpperCase();
  // fetch refuses URLs with credentials: send them as Basic auth, as curl would.
  const headers = new Headers(options.headers);
  if ((url.username || url.password) && !headers.has("authorization")) {
    headers.set("authorization", `Basic ${base64(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`)}`);
  }
  url.username = "";
  url.password = "";
  const accepts = statusMatcher(options.expectStatus ?? { min: 200, max: 399 });
  return builtinCheck(options, { name: `http:${url.host}${url.pathname === "/" ? "" : url.pathname}`, componentType: options.componentType ?? "component" }, async ({ signal }) => {
    let response: Response;
    try {
      response = await fetch(url, { method, headers, redirect: "manual", signal });
    } catch (error) {
      if (isAbortOf(error, signal)) throw error;
      throw unavailable(error, "request failed");
    }
    // Free the connection: only the status matters.
    await response.body?.cancel().catch(() => {});
    if (!accepts.test(response.status)) {
      throw new ServiceUnavailable(`status ${response.status}, expected ${accepts.description}`);
    }
    return { output: `${response.status}` };
  });
}

function statusMatcher(expected: ExpectedStatus): { test: (status: number) => boolean; description: string } {
  if (typeof expected === "function") return { test: expected, description: "a status the check accepts" };
  if (typeof expected === "number") return { test: (status) => status === expected, description: `${expected}` };
  if (Array.isArray(expected)) {
    const list = expected as readonly number[];
    return { test: (status) => list.includes(status), description: list.join(" or ") };
  }
  const { min, max } = expected as { min: number; max: number };
  if (!(min <= max)) throw new TypeError(`probekit/checks/http: expectStatus range must have min <= max, got ${min}..${max}`);
  return { test: (status) => status >= min && status <= max, description: `${min}–${max}` };
}

function base64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}
