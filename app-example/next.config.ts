import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // `npm run build:standalone` builds the Kubernetes container layout, `node .next/standalone/server.js`
  // (the README's Deploying section); `next start` wants the default output.
  output: process.env.NEXT_OUTPUT === "standalone" ? "standalone" : undefined,
  // This app sits inside the probekit repository, whose lockfile would otherwise be taken for the workspace root.
  turbopack: { root: import.meta.dirname },
  outputFileTracingRoot: import.meta.dirname,
  // probekit's checks import their drivers (postgres, ioredis, …) only when used. Left
  // unbundled, a driver that is not installed cannot fail the build (Turbopack resolves
  // every import() it sees), and the ones installed are traced into the standalone output.
  serverExternalPackages: ["probekit"],
};

export default nextConfig;
