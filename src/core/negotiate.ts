/**
 * Picks the response format from `?format=` and the `Accept` header.
 *
 * Written here rather than taken from a library because the rules are ours:
 * `*\/*` prefers HTML, `application/*` prefers plain JSON, and a malformed header
 * counts as `*\/*` instead of "nothing acceptable". The q-value and specificity
 * rules follow RFC 9110 §12.5.1.
 */

export type ResponseFormat = "html" | "json" | "health+json" | MetricsFormat;

/** The two metrics expositions: OpenMetrics 1.0.0 and the Prometheus text format 0.0.4. */
export type MetricsFormat = "openmetrics" | "prometheus";

/** True for the formats a scraper reads (answered 200 whatever the subset's status). */
export function isMetricsFormat(format: ResponseFormat): format is MetricsFormat {
  return format === "openmetrics" || format === "prometheus";
}

/** The answer: a format, `406` when the client accepts none, `400` for an unknown `?format=`. */
export type Negotiated = { format: ResponseFormat } | { error: 400 | 406; message: string };

// Server preference, used only to break ties between equally good matches.
// The metrics offers match only their own media type (never a wildcard: a browser's `*/*`
// gets the page), and only in a version they write. `text/plain` must name its version:
// a bare `text/plain` stays 406, so a monitor that asks for it never gets a 200 that
// hides a failure.
interface Offer {
  type: string;
  subtype: string;
  format: ResponseFormat;
  /** The version written (first) and versions its output also satisfies; undefined: the offer has no versions. */
  versions?: readonly string[];
  /** A range without a `version` does not match. */
  versionRequired?: boolean;
}

const OFFERS: readonly Offer[] = [
  { type: "text", subtype: "html", format: "html" },
  { type: "application", subtype: "json", format: "json" },
  { type: "application", subtype: "health+json", format: "health+json" },
  { type: "application", subtype: "xhtml+xml", format: "html" },
  // Only 1.0.0: a scraper that asks for the 0.0.1 draft (Prometheus before 2.33) also lists
  // the 0.0.4 text, and gets that.
  { type: "application", subtype: "openmetrics-text", format: "openmetrics", versions: ["1.0.0"] },
  // 0.0.4 is written; the 1.0.0 text format (Prometheus 3) differs only by quoted UTF-8
  // names, which probekit never writes, so a 0.0.4 body satisfies it.
  { type: "text", subtype: "plain", format: "prometheus", versions: ["0.0.4", "1.0.0"], versionRequired: true },
];

const METRICS_OFFERS = OFFERS.filter((offer) => offer.versions !== undefined);

export const SUPPORTED_TYPES =
  "text/html, application/json, application/health+json, application/openmetrics-text; version=1.0.0, text/plain; version=0.0.4";

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
  index: number;
  /** The `version` parameter, unquoted, if any. */
  version?: string;
}

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const RANGE = new RegExp(`^(${TOKEN})/(${TOKEN})$`);
const PARAM = new RegExp(`^(${TOKEN})\\s*=\\s*(${TOKEN}|"(?:[^"\\\\]|\\\\.)*")$`);
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * Decides the format of a health response.
 *
 * @example
 * negotiateFormat("json", null)             // { format: "json" }
 * negotiateFormat(null, "text/html,*\/*;q=0.8") // { format: "html" }
 * negotiateFormat(null, "image/png")         // { error: 406, … }
 */
export function negotiateFormat(formatParam: string | null, accept: string | null): Negotiated {
  const ranges = parseAccept(accept);
  if (formatParam !== null) {
    const wanted = formatParam.trim().toLowerCase();
    if (wanted === "html") return { format: "html" };
    if (wanted === "json") return { format: asksForHealthJson(ranges) ? "health+json" : "json" };
    if (wanted === "openmetrics" || wanted === "prometheus") return { format: wanted };
    return { error: 400, message: `unknown format ${JSON.stringify(formatParam.slice(0, 32))}: use ?format=json, html, openmetrics or prometheus` };
  }
  let best: { format: ResponseFormat; q: number; index: number; rank: number } | undefined;
  OFFERS.forEach((offer, rank) => {
    const match = bestRange(ranges, offer);
    if (match === undefined || match.q === 0) return;
    const better =
      best === undefined || match.q > best.q || (match.q === best.q && (match.index < best.index || (match.index === best.index && rank < best.rank)));
    if (better) best = { format: offer.format, q: match.q, index: match.index, rank };
  });
  if (best === undefined) return { error: 406, message: `not acceptable: this resource is available as ${SUPPORTED_TYPES}` };
  return { format: best.format };
}

/** Parses `Accept`; an absent, empty or malformed header means `*\/*`. */
function parseAccept(accept: string | null): MediaRange[] {
  const anything = [{ type: "*", subtype: "*", q: 1, index: 0 }];
  if (accept === null || accept.trim() === "" || accept.length > 4096) return anything;
  const ranges: MediaRange[] = [];
  const parts = accept.split(",");
  for (let index = 0; index < parts.length; index++) {
    const part = parts[index]!.trim();
    if (part === "") continue; // RFC 9110 allows empty list elements
    const [range, ...params] = part.split(";");
    const found = RANGE.exec(range!.trim());
    if (found === null) return anything;
    const type = found[1]!.toLowerCase();
    const subtype = found[2]!.toLowerCase();
    if (type === "*" && subtype !== "*") return anything;
    let q = 1;
    let version: string | undefined;
    for (const param of params) {
      const pair = PARAM.exec(param.trim());
      if (pair === null) return anything;
      const name = pair[1]!.toLowerCase();
      if (name === "q") {
        if (!QVALUE.test(pair[2]!)) return anything;
        q = Number(pair[2]);
      } else if (name === "version") {
        version = unquote(pair[2]!);
      }
    }
    ranges.push(version === undefined ? { type, subtype, q, index } : { type, subtype, q, index, version });
  }
  return ranges.length === 0 ? anything : ranges;
}

function unquote(value: string): string {
  return value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, "$1") : value;
}

/** The most specific range that matches an offer (RFC 9110: specificity decides its q). */
function bestRange(ranges: readonly MediaRange[], offer: Offer): MediaRange | undefined {
  if (offer.versions !== undefined) return versionedRange(ranges, offer, offer.versions);
  let best: MediaRange | undefined;
  let bestSpecificity = -1;
  for (const range of ranges) {
    const specificity =
      range.type === offer.type && range.subtype === offer.subtype ? 2 : range.type === offer.type && range.subtype === "*" ? 1 : range.type === "*" ? 0 : -1;
    if (specificity > bestSpecificity) {
      best = range;
      bestSpecificity = specificity;
    }
  }
  return best;
}

/**
 * The range that decides a versioned offer, RFC 9110 §12.5.1 style: one naming the
 * written version is the most specific, then one naming a version the output also
 * satisfies, then (unless a version is required) the bare type. Ranges naming other
 * versions do not apply.
 */
function versionedRange(ranges: readonly MediaRange[], offer: Offer, versions: readonly string[]): MediaRange | undefined {
  let best: MediaRange | undefined;
  let bestRank = Number.POSITIVE_INFINITY;
  for (const range of ranges) {
    if (range.type !== offer.type || range.subtype !== offer.subtype) continue;
    const rank = range.version === undefined ? (offer.versionRequired ? -1 : versions.length) : versions.indexOf(range.version);
    if (rank !== -1 && rank < bestRank) {
      best = range;
      bestRank = rank;
    }
  }
  return best;
}

/**
 * The format of a dedicated metrics route, where only the two expositions are on
 * offer: OpenMetrics when the client prefers it (Prometheus does), else the 0.0.4
 * text — also for curl, a browser, or an `Accept` naming neither.
 */
export function negotiateMetricsFormat(accept: string | null): MetricsFormat {
  const ranges = parseAccept(accept);
  const [openmetrics, text] = METRICS_OFFERS.map((offer) => bestRange(ranges, offer)?.q ?? 0);
  return openmetrics! > 0 && openmetrics! >= text! ? "openmetrics" : "prometheus";
}

/** `?format=json` answers `application/health+json` only to clients that name it. */
function asksForHealthJson(ranges: readonly MediaRange[]): boolean {
  return ranges.some((range) => range.type === "application" && range.subtype === "health+json" && range.q > 0);
}
