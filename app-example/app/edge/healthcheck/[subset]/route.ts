import config from "@/edge-health.config";
import { createHealthRoute } from "probekit/next";

// Vercel Edge: the same handler, with edge-safe checks only.
export const runtime = "edge";

export const { GET, HEAD } = createHealthRoute(config);
