/**
 * probekit/checks/tls: is the certificate a server presents valid, trusted, for its
 * name, and not about to expire? Connects with TLS (SNI), verifies the chain against
 * the system's CAs (or the ones given) and the name, and warns `warnDays` before the
 * certificate's end. Node only.
 *
 * @example
 * import { tlsCertificate } from "probekit/checks/tls";
 * tlsCertificate({ host: "api.example.com", critical: false });
 */
import { isIP } from "node:net";
import { connect, type PeerCertificate, type TLSSocket } from "node:tls";
import { builtinCheck, type Check, type CommonCheckOptions } from "../core/check.js";
import { ServiceUnavailable, ServiceWarning } from "../core/errors.js";
import { driverTimeoutMs } from "../core/util.js";
import { guarded, safeError } from "../internal/safe-errors.js";

export interface TlsCertificateOptions extends CommonCheckOptions {
  /** The server to connect to. Never shown in a public report. */
  host: string;
  /** @default 443 */
  port?: number;
  /** The name the certificate must be for, sent as SNI. @default host (no SNI for an IP address) */
  servername?: string;
  /** CA certificates (PEM) to trust instead of the system's: for an internal CA. */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /**
   * Warn (`ServiceWarning`) when the certificate ends within this many days.
   * @default 14
   */
  warnDays?: number;
  /** @default "tls" */
  name?: string;
}

const WHO = "probekit/checks/tls";
const DAY_MS = 86_400_000;

/** What the chain and name verification report, named for a public report. */
const VERIFY_MESSAGES: Record<string, string> = {
  CERT_HAS_EXPIRED: "certificate expired",
  CERT_NOT_YET_VALID: "certificate not yet valid",
  DEPTH_ZERO_SELF_SIGNED_CERT: "certificate is self-signed",
  SELF_SIGNED_CERT_IN_CHAIN: "certificate chain ends in an untrusted self-signed CA",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "certificate chain not trusted",
  UNABLE_TO_GET_ISSUER_CERT: "certificate chain not trusted",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "certificate chain not trusted",
  CERT_UNTRUSTED: "certificate chain not trusted",
  CERT_REVOKED: "certificate revoked",
  ERR_TLS_CERT_ALTNAME_INVALID: "certificate does not match the name",
  HOSTNAME_MISMATCH: "certificate does not match the name",
  CERT_SIGNATURE_FAILURE: "certificate signature invalid",
};

/**
 * Passes with the days left as `observedValue`; warns within `warnDays` of the end;
 * fails when expired, not yet valid, self-signed, untrusted or for another name.
 *
 * @example
 * tlsCertificate({ host: "db.internal", port: 5433, ca: readFileSync("internal-ca.pem", "utf8"), warnDays: 30 });
 */
export function tlsCertificate(options: TlsCertificateOptions): Check {
  const { host, ca } = options;
  if (typeof host !== "string" || host.trim() === "") throw new TypeError(`${WHO}: host must be a non-empty string`);
  const port = options.port ?? 443;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new TypeError(`${WHO}: port must be 1–65535, got ${port}`);
  const warnDays = options.warnDays ?? 14;
  if (!(warnDays >= 0)) throw new TypeError(`${WHO}: warnDays must be >= 0, got ${warnDays}`);
  const servername = options.servername ?? host;
  return builtinCheck(options, { name: "tls", componentType: "component" }, async ({ signal, timeoutMs }) => {
    const certificate = await guarded(
      signal,
      () => peerCertificate({ host, port, servername, ca: ca === undefined ? undefined : typeof ca === "string" || Buffer.isBuffer(ca) ? [ca] : [...ca], timeoutMs, signal }),
      (error) => safeError(error, { codes: VERIFY_MESSAGES, fallback: "TLS handshake failed" }),
    );
    const notAfter = Date.parse(certificate.valid_to);
    const daysLeft = Math.floor(((notAfter - Date.now()) / DAY_MS) * 10) / 10;
    const left = `${Math.floor(daysLeft)} ${Math.floor(daysLeft) === 1 ? "day" : "days"}`;
    if (daysLeft < warnDays) throw new ServiceWarning(`certificate expires in ${left} (warn below ${warnDays})`);
    return { observedValue: daysLeft, observedUnit: "days", output: `expires in ${left}` };
  });
}

interface Target {
  host: string;
  port: number;
  servername: string;
  ca: (string | Buffer)[] | undefined;
  timeoutMs: number;
  signal: AbortSignal;
}

/** The server's certificate once the chain and name verified; a verification failure rejects with its code. */
function peerCertificate({ host, port, servername, ca, timeoutMs, signal }: Target): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    // Verified here rather than by the handshake, so an expired or mismatched certificate is named, not just refused.
    const socket: TLSSocket = connect({ host, port, servername: isIP(servername) === 0 ? servername : undefined, ca, rejectUnauthorized: false, ALPNProtocols: ["http/1.1"] });
    const done = (error?: unknown, certificate?: PeerCertificate) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", aborted);
      socket.destroy();
      if (error === undefined) resolve(certificate!);
      else reject(error);
    };
    const timer = setTimeout(() => done(Object.assign(new Error("TLS connection timed out"), { code: "ETIMEDOUT" })), driverTimeoutMs(timeoutMs));
    const aborted = () => done(signal.reason);
    signal.addEventListener("abort", aborted, { once: true });
    socket.once("secureConnect", () => {
      const certificate = socket.getPeerCertificate();
      if (certificate === null || Object.keys(certificate).length === 0) return done(new ServiceUnavailable("the server sent no certificate"));
      const code = socket.authorizationError === null ? undefined : String((socket.authorizationError as Error & { code?: string }).code ?? socket.authorizationError);
      if (code !== undefined) return done(Object.assign(new Error(`certificate verification failed: ${code}`), { code }));
      done(undefined, certificate);
    });
    socket.once("error", (error) => done(error));
  });
}
