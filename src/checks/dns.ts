/**
 * probekit/checks/dns: does a name resolve, and to what it should? Queries DNS (Node's
 * c-ares resolver, not getaddrinfo: /etc/hosts is not read) for A, AAAA, CNAME, TXT or
 * SRV records, through the system's DNS servers or the ones given. Node only.
 *
 * @example
 * import { dnsResolve } from "probekit/checks/dns";
 * dnsResolve({ hostname: "db.internal.example.com" });
 */
import { Resolver } from "node:dns/promises";
import { builtinCheck, type Check, type CommonCheckOptions } from "../core/check.js";
import { ServiceReturnedUnexpectedResult, type HealthCheckError } from "../core/errors.js";
import { driverTimeoutMs } from "../core/util.js";
import { guarded, safeError } from "../internal/safe-errors.js";

export type DnsRecordType = "A" | "AAAA" | "CNAME" | "TXT" | "SRV";

export interface DnsResolveOptions extends CommonCheckOptions {
  /** The name to resolve. Never shown in a public report (it is in the check's detail). */
  hostname: string;
  /** @default "A" */
  type?: DnsRecordType;
  /** DNS servers to ask (`"10.0.0.2"`, `"10.0.0.2:5353"`, `"[fd00::2]:53"`); default: the system's. */
  servers?: readonly string[];
  /**
   * Answers that must all be among the records: addresses (A, AAAA), names (CNAME),
   * the record's strings joined (TXT), `target:port` (SRV). Or a predicate over those.
   */
  expect?: string | readonly string[] | ((answers: string[]) => boolean);
  /** @default "dns" */
  name?: string;
}

const WHO = "probekit/checks/dns";
const TYPES: readonly DnsRecordType[] = ["A", "AAAA", "CNAME", "TXT", "SRV"];

/**
 * Passes when the name has records of the type (and the expected answers among them);
 * reports the lookup's time in ms. Answers never appear in a public report: internal
 * addresses are not the business of whoever calls the probe.
 *
 * @example
 * dnsResolve({ hostname: "_postgresql._tcp.db.example.com", type: "SRV", servers: ["10.0.0.2"] });
 * dnsResolve({ hostname: "api.example.com", expect: ["203.0.113.10"], critical: false });
 */
export function dnsResolve(options: DnsResolveOptions): Check {
  const hostname = options.hostname;
  if (typeof hostname !== "string" || hostname.trim() === "") throw new TypeError(`${WHO}: hostname must be a non-empty string`);
  const type = options.type ?? "A";
  if (!TYPES.includes(type)) throw new TypeError(`${WHO}: type must be one of ${TYPES.join(", ")}, got ${JSON.stringify(type)}`);
  const servers = options.servers === undefined ? undefined : [...options.servers];
  // A bad server address is a programmer mistake: caught when the config is defined.
  if (servers !== undefined) new Resolver().setServers(servers);
  const expect = options.expect;
  const expected = typeof expect === "string" ? [expect] : typeof expect === "function" ? undefined : expect === undefined ? undefined : [...expect];
  return builtinCheck(options, { name: "dns", componentType: "component" }, async ({ signal, timeoutMs }) => {
    const resolver = new Resolver({ timeout: driverTimeoutMs(timeoutMs), tries: 1 });
    if (servers !== undefined) resolver.setServers(servers);
    const cancel = () => resolver.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    const started = performance.now();
    let answers: string[];
    try {
      answers = await guarded(signal, async () => normalize(type, (await resolver.resolve(hostname, type)) as readonly Answer[]), safeDnsError);
    } finally {
      signal.removeEventListener("abort", cancel);
    }
    const ms = Math.round((performance.now() - started) * 100) / 100;
    if (typeof expect === "function") {
      if (expect(answers) !== true) throw new ServiceReturnedUnexpectedResult("the answers are not the expected ones", { cause: new Error(`${hostname} ${type}: ${answers.join(", ")}`) });
    } else if (expected !== undefined) {
      const missing = expected.filter((value) => !answers.some((answer) => sameAnswer(type, answer, value)));
      if (missing.length > 0) {
        throw new ServiceReturnedUnexpectedResult(`${missing.length} of ${expected.length} expected answers missing`, {
          cause: new Error(`${hostname} ${type}: answered ${answers.join(", ") || "nothing"}; missing ${missing.join(", ")}`),
        });
      }
    }
    return { observedValue: ms, observedUnit: "ms", output: `${answers.length} ${answers.length === 1 ? "record" : "records"}` };
  });
}

type Answer = string | string[] | { name: string; port: number };

function normalize(type: DnsRecordType, records: readonly Answer[]): string[] {
  if (type === "TXT") return (records as string[][]).map((chunks) => chunks.join(""));
  if (type === "SRV") return (records as { name: string; port: number }[]).map((record) => `${record.name}:${record.port}`);
  return records as string[];
}

/** Names compare without case or a trailing dot; IPv6 addresses without case. */
function sameAnswer(type: DnsRecordType, answer: string, expected: string): boolean {
  if (type === "TXT") return answer === expected;
  const plain = (value: string) => value.toLowerCase().replace(/\.(?=$|:)/, "");
  return plain(answer) === plain(expected);
}

/** c-ares's codes, named without the name asked for. */
function safeDnsError(error: unknown): HealthCheckError {
  return safeError(error, {
    codes: {
      ENOTFOUND: "name not found",
      ENODATA: "no records of that type",
      EREFUSED: "the DNS server refused the query",
      ESERVFAIL: "the DNS server failed",
      ETIMEOUT: "DNS query timed out",
      ECONNREFUSED: "the DNS server refused the connection",
      EFORMERR: "the DNS server could not read the query",
      EBADNAME: "not a valid name",
      ENOTIMP: "the DNS server does not support the query",
      ECANCELLED: "DNS query cancelled",
    },
    fallback: "DNS query failed",
  });
}
