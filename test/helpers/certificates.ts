/**
 * Certificates made for the TLS check's tests with the real `openssl` (Debian's): a CA,
 * leaves it signs (valid, expiring in 2 days, expired, not yet valid, for another name),
 * a leaf signed by an intermediate it signs, and a self-signed one; TLS servers on
 * 127.0.0.1 presenting each; and a check run in a process that trusts the CA.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSecureContext, createServer, type Server } from "node:tls";
import { runScript } from "./child-process.ts";

export interface Leaf {
  key: string;
  cert: string;
}

export interface TestPki {
  ca: string;
  /** Signed by the CA, `days` long from now (or between two dates, `YYYYMMDDHHMMSSZ`), for `names` (DNS: or IP:). */
  leaf(options: { days?: number; start?: string; end?: string; names?: string[] }): Leaf;
  selfSigned(names?: string[]): Leaf;
  /** A leaf signed by an intermediate CA the CA signs, and that intermediate (a server sends both). */
  chained(): { leaf: Leaf; intermediate: string };
  destroy(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
const DEFAULT_NAMES = ["DNS:localhost", "IP:127.0.0.1"];

export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "probekit-pki-"));
  mkdirSync(join(dir, "newcerts"));
  writeFileSync(join(dir, "index.txt"), "");
  writeFileSync(join(dir, "serial"), "1000\n");
  writeFileSync(
    join(dir, "ca.cnf"),
    [
      "[ ca ]",
      "default_ca = test_ca",
      "[ test_ca ]",
      `database = ${join(dir, "index.txt")}`,
      `new_certs_dir = ${join(dir, "newcerts")}`,
      `serial = ${join(dir, "serial")}`,
      "default_md = sha256",
      "policy = any",
      "copy_extensions = copy",
      "unique_subject = no",
      "[ any ]",
      "commonName = supplied",
      "",
    ].join("\n"),
  );
  openssl(["req", "-x509", ...EC, "-keyout", "ca.key", "-out", "ca.crt", "-days", "30", "-subj", "/CN=probekit test CA"], dir);
  let count = 0;
  return {
    ca: readFileSync(join(dir, "ca.crt"), "utf8"),
    leaf({ days = 90, start, end, names = DEFAULT_NAMES }) {
      const id = `leaf${++count}`;
      openssl(["req", "-new", ...EC, "-keyout", `${id}.key`, "-out", `${id}.csr`, "-subj", `/CN=${names[0]!.replace(/^\w+:/, "")}`, "-addext", `subjectAltName=${names.join(",")}`], dir);
      const validity = start !== undefined && end !== undefined ? ["-startdate", start, "-enddate", end] : ["-days", String(days)];
      openssl(["ca", "-batch", "-notext", "-config", "ca.cnf", "-cert", "ca.crt", "-keyfile", "ca.key", "-in", `${id}.csr`, "-out", `${id}.crt`, ...validity], dir);
      return { key: readFileSync(join(dir, `${id}.key`), "utf8"), cert: readFileSync(join(dir, `${id}.crt`), "utf8") };
    },
    selfSigned(names = DEFAULT_NAMES) {
      const id = `self${++count}`;
      openssl(["req", "-x509", ...EC, "-keyout", `${id}.key`, "-out", `${id}.crt`, "-days", "30", "-subj", `/CN=${names[0]!.replace(/^\w+:/, "")}`, "-addext", `subjectAltName=${names.join(",")}`], dir);
      return { key: readFileSync(join(dir, `${id}.key`), "utf8"), cert: readFileSync(join(dir, `${id}.crt`), "utf8") };
    },
    chained() {
      const id = `chain${++count}`;
      const caExtensions = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"];
      openssl(["req", "-new", ...EC, "-keyout", `${id}-ca.key`, "-out", `${id}-ca.csr`, "-subj", "/CN=probekit test intermediate", ...caExtensions], dir);
      openssl(["ca", "-batch", "-notext", "-config", "ca.cnf", "-cert", "ca.crt", "-keyfile", "ca.key", "-in", `${id}-ca.csr`, "-out", `${id}-ca.crt`, "-days", "30"], dir);
      openssl(["req", "-new", ...EC, "-keyout", `${id}.key`, "-out", `${id}.csr`, "-subj", "/CN=localhost", "-addext", `subjectAltName=${DEFAULT_NAMES.join(",")}`], dir);
      openssl(["ca", "-batch", "-notext", "-config", "ca.cnf", "-cert", `${id}-ca.crt`, "-keyfile", `${id}-ca.key`, "-in", `${id}.csr`, "-out", `${id}.crt`, "-days", "90"], dir);
      return {
        leaf: { key: readFileSync(join(dir, `${id}.key`), "utf8"), cert: readFileSync(join(dir, `${id}.crt`), "utf8") },
        intermediate: readFileSync(join(dir, `${id}-ca.crt`), "utf8"),
      };
    },
    destroy: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `openssl ca`'s date format, `days` from now (negative: in the past). */
export function certDate(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().replace(/[-:T]/g, "").replace(/\.\d+Z$/, "Z");
}

/**
 * A TLS server on 127.0.0.1 presenting `leaf` (with the CA after it when given), answering
 * nothing; on `port` when given (rejects when it is taken), else on a free one.
 * `servernames` holds the SNI of each ClientHello that sent one.
 */
export async function tlsServer(leaf: Leaf, chain?: string, port = 0): Promise<{ port: number; servernames: string[]; close(): Promise<void> }> {
  const servernames: string[] = [];
  const identity = { key: leaf.key, cert: chain === undefined ? leaf.cert : leaf.cert + chain };
  const context = createSecureContext(identity);
  const server: Server = createServer(
    {
      ...identity,
      // Called during the ClientHello: the client may close before the server's side of the handshake completes.
      SNICallback: (servername, done) => {
        servernames.push(servername);
        done(null, context);
      },
    },
    (socket) => socket.end(),
  );
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return { port: (server.address() as { port: number }).port, servernames, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * Runs `check` — an expression such as `postgresHeartbeat({ url })`, of `name` imported from
 * the source entry `entry` (`./src/checks/postgres.ts`) — once in a fresh Node that trusts
 * `ca` as a root (NODE_EXTRA_CA_CERTS, which Node reads at start only); resolves its report's
 * status and detail.
 */
export async function runCheckTrusting(ca: string, entry: string, name: string, check: string): Promise<{ status: string; detail: string }> {
  const dir = mkdtempSync(join(tmpdir(), "probekit-ca-"));
  try {
    writeFileSync(join(dir, "ca.crt"), ca);
    const script = `
      import { closeHealthChecks, defineHealthConfig, runHealthChecks } from "./src/index.ts";
      import { ${name} } from ${JSON.stringify(entry)};
      const config = defineHealthConfig({ subsets: { s: [${check}] }, logger: false });
      const { status, detail } = (await runHealthChecks(config, "s")).checks[0];
      process.stdout.write(JSON.stringify({ status, detail }));
      await closeHealthChecks(config);
    `;
    const { code, output } = await runScript(script, 15_000, { NODE_EXTRA_CA_CERTS: join(dir, "ca.crt") });
    if (code !== 0) throw new Error(`the check's process exited ${code}: ${output}`);
    return JSON.parse(output) as { status: string; detail: string };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
