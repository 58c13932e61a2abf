/**
 * The checks an edge route can run: Fetch-only (no Node built-ins, no TCP), so
 * this file must not import health.config.ts. UPSTASH_REDIS_REST_URL and
 * UPSTASH_REDIS_REST_TOKEN add an Upstash ping.
 */
import { defineHealthConfig, type Check } from "probekit";
import { httpEndpoint } from "probekit/checks/http";
import { redisPing } from "probekit/checks/upstash";

const { UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN } = process.env;

const upstash: Check[] =
  UPSTASH_REDIS_REST_URL && UPSTASH_REDIS_REST_TOKEN
    ? [redisPing({ name: "upstash", upstash: { url: UPSTASH_REDIS_REST_URL, token: UPSTASH_REDIS_REST_TOKEN } })]
    : [];

export default defineHealthConfig({
  subsets: {
    readiness: [
      ...upstash,
      // The Node side of the same app answers (any public URL works here).
      httpEndpoint({ name: "app", url: `http://127.0.0.1:${process.env.PORT ?? 3000}/healthcheck/liveness` }),
    ],
  },
});
