import config from "@/health.config";
import { createHealthRoute } from "probekit/next";

export const { GET, HEAD } = createHealthRoute(config);
