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
import { guarded, safeError } from "../internal/safe-errors.js";

/** A status, a list of statuses, an inclusive range, or a predicate. */
export type ExpectedStatus = number | readonly number[] | { min: number; max: number } | ((status: number) => boolean);

export interface HttpEndpointOptions extends CommonCheckOptions {
  /** What to request. Its credentials, path and query never appear in a report; the default name is `http:<host>`. */
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
  const method = (options.method ?? "GET").toUpperCase();
  const accepts = statusMatcher(options.expectStatus ?? { min: 200, max: 399 });
  // `url: process.env.X + "/health"` with X unset must not crash the build: a bad URL fails when the check runs.
  const target = parseTarget(options.url, options.headers);
  return builtinCheck(options, { name: target === undefined ? "http" : `http:${target.url.host}`, componentType: options.componentType ?? "component" }, async ({ signal }) => {
    if (target === undefined) throw new ServiceUnavailable("no valid URL configured");
    const response = await guarded(signal, () => fetch(target.url, { method, headers: target.headers, redirect: "manual", signal }), (error) => safeError(error, { fallback: "request failed" }));
    // Free the connection: only the status matters.
    await response.body?.cancel().catch(() => {});
    if (!accepts.test(response.status)) {
      throw new ServiceUnavailable(`status ${response.status}, expected ${accepts.description}`);
    }
    return { output: `${response.status}` };
  });
}

/** The URL without its credentials, which go into a Basic Authorization header as curl would send them (fetch refuses them in the URL). */
function parseTarget(input: string | URL, given: HeadersInit | undefined): { url: URL; headers: Headers } | undefined {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return undefined;
  }
  const headers = new Headers(given);
  if ((url.username || url.password) && !headers.has("authorization")) {
    headers.set("authorization", `Basic ${base64(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`)}`);
  }
  url.username = "";
  url.password = "";
  return { url, headers };
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
