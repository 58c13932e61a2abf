import config from "@/health.config";
import { createMetricsRoute } from "probekit/next";

// One Prometheus scrape target for both subsets the web pod answers (liveness is the worker's).
export const { GET, HEAD } = createMetricsRoute(config, { subsets: ["readiness", "integrations"] });
