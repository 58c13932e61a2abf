import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // `npm run build:standalone` builds the Kubernetes container layout, `node .next/standalone/server.js`
  // (the README's Deploying section); `next start` wants the default output.
  output: process.env.NEXT_OUTPUT === "standalone" ? "standalone" : undefined,
  // This app sits inside the probekit repository, whose lockfile would otherwise be taken for the workspace root.
  turbopack: { root: import.meta.dirname },
  outputFileTracingRoot: import.meta.dirname,
  // The routes need no such line (each probekit entry imports only its own driver). It is
  // here for the worker's exec probe in the standalone image: the CLI's bundled config
  // imports probekit at run time, so probekit must be in the traced node_modules.
  serverExternalPackages: ["probekit"],
};

export default nextConfig;
