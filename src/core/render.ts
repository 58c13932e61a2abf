/**
 * Renders a report as draft-inadarei-api-health-check-06 JSON or as one
 * self-contained HTML page. Both show the safe `output` of each check unless the
 * caller is authorized to see the raw `detail`.
 */
import type { CheckReport, HealthReport, HealthStatus } from "./runner.js";
import { formatMs } from "./util.js";

export interface RenderOptions {
  /** Show raw error detail instead of the public message. */
  detail: boolean;
}

/** One entry of the draft's `checks` map. */
export interface HealthJsonCheck {
  status: HealthStatus;
  componentType?: string;
  observedValue: number | string | boolean;
  observedUnit: string;
  time: string;
  output?: string;
  critical: boolean;
}

/** The JSON body: `status`, and `checks` keyed by check name (each an array, as the draft has it). */
export interface HealthJson {
  status: HealthStatus;
  checks: Record<string, HealthJsonCheck[]>;
}

/** The draft-inadarei-api-health-check-06 document for a report. */
export function toHealthJson(report: HealthReport, { detail }: RenderOptions): HealthJson {
  // A null prototype, so a check named "__proto__" is a key like any other.
  const checks: Record<string, HealthJsonCheck[]> = Object.create(null);
  report.checks.forEach((check, index) => {
    const key = Object.hasOwn(checks, check.name) ? `${check.name} (${index})` : check.name;
    const message = messageOf(check, detail);
    checks[key] = [
      {
        status: check.status,
        ...(check.componentType === undefined ? {} : { componentType: check.componentType }),
        observedValue: check.observedValue,
        observedUnit: check.observedUnit,
        time: check.time,
        ...(message === "" ? {} : { output: message }),
        critical: check.critical,
      },
    ];
  });
  return { status: report.status, checks };
}

const statusJson = (status: unknown) => (status === "pass" ? '"pass"' : status === "warn" ? '"warn"' : status === "fail" ? '"fail"' : undefined);
/** A canonical array index ("0", "17"): JSON.stringify puts such keys first, in numeric order. */
const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

/** The JSON of the strings that repeat from report to report (names, units, component types), made once each. */
const quoted = new Map<string, string>();
function quote(text: string): string {
  if (text.length > 256) return JSON.stringify(text);
  let json = quoted.get(text);
  if (json === undefined) {
    // Forgotten all at once when full: names made afresh each run cannot grow it.
    if (quoted.size >= 1024) quoted.clear();
    quoted.set(text, (json = JSON.stringify(text)));
  }
  return json;
}

/**
 * `JSON.stringify(toHealthJson(report, options))`, written out field by field: the
 * body of every answer the cache cannot serve (with `cacheTtlMs: 0`, every one). The
 * same bytes (test/unit/render.test.ts holds them equal), without building the
 * document's objects first, which cost an uncached probe more than its run. A report
 * whose fields are not the runner's plain values (or a check named like an array
 * index, which JSON orders first) takes `JSON.stringify` itself.
 */
export function toHealthJsonText(report: HealthReport, options: RenderOptions): string {
  const viaDocument = () => JSON.stringify(toHealthJson(report, options));
  const status = statusJson(report.status);
  if (status === undefined) return viaDocument();
  const { checks } = report;
  let text = `{"status":${status},"checks":{`;
  const keys: string[] = [];
  let lastTime = "";
  let lastTimeJson = "";
  for (let index = 0; index < checks.length; index++) {
    const check = checks[index]!;
    const message = messageOf(check, options.detail);
    const { name, componentType, observedValue, observedUnit, time } = check;
    const checkStatus = statusJson(check.status);
    if (
      checkStatus === undefined ||
      typeof name !== "string" ||
      ARRAY_INDEX.test(name) ||
      (componentType !== undefined && typeof componentType !== "string") ||
      !(typeof observedValue === "string" || typeof observedValue === "boolean" || (typeof observedValue === "number" && Number.isFinite(observedValue))) ||
      typeof observedUnit !== "string" ||
      typeof time !== "string" ||
      typeof message !== "string" ||
      typeof check.critical !== "boolean"
    ) {
      return viaDocument();
    }
    // The same key as toHealthJson's: a name already taken gets its position appended
    // (and a key taken twice, which JSON would show once, takes JSON.stringify).
    const key = keys.includes(name) ? `${name} (${index})` : name;
    if (key !== name && (keys.includes(key) || ARRAY_INDEX.test(key))) return viaDocument();
    keys.push(key);
    if (time !== lastTime) {
      lastTime = time;
      lastTimeJson = JSON.stringify(time);
    }
    text +=
      (index === 0 ? "" : ",") +
      quote(key) +
      ':[{"status":' +
      checkStatus +
      (componentType === undefined ? "" : ',"componentType":' + quote(componentType)) +
      ',"observedValue":' +
      (typeof observedValue === "string" ? JSON.stringify(observedValue) : String(observedValue)) +
      ',"observedUnit":' +
      quote(observedUnit) +
      ',"time":' +
      lastTimeJson +
      (message === "" ? "" : ',"output":' + JSON.stringify(message)) +
      ',"critical":' +
      String(check.critical) +
      "}]";
  }
  return text + "}}";
}

function messageOf(check: CheckReport, detail: boolean): string {
  return detail ? check.detail : check.output;
}

/** The mark and word for each status, shared by the HTML page and the CLI. */
export const MARKS: Record<HealthStatus, { mark: string; label: string }> = {
  pass: { mark: "✓", label: "passing" },
  warn: { mark: "!", label: "warning" },
  fail: { mark: "✗", label: "failing" },
};

/** A page a person can read on a phone: a row per check with mark, name, message and time taken. */
export function toHealthHtml(report: HealthReport, { detail }: RenderOptions): string {
  const overall = MARKS[report.status];
  const rows = report.checks
    .map((check) => {
      const { mark, label } = MARKS[check.status];
      const message = messageOf(check, detail) || (check.status === "pass" ? "working" : "");
      const note = check.critical ? "" : ` <span class="note">non-critical</span>`;
      return `<li class="${check.status}"><span class="mark" role="img" aria-label="${label}">${mark}</span><span class="name">${escapeHtml(check.name)}${note}</span><span class="message">${escapeHtml(message)}</span><span class="time">${formatMs(check.durationMs)}</span></li>`;
    })
    .join("");
  const title = `${escapeHtml(report.subset)}: ${overall.label}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex,nofollow"><meta name="color-scheme" content="light dark"><title>${title}</title><style>
*{box-sizing:border-box}body{margin:0;padding:16px;font:16px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;max-width:48rem}
h1{font-size:1.25rem;margin:0 0 4px;overflow-wrap:anywhere}p{margin:0 0 16px;color:GrayText}ul{list-style:none;margin:0;padding:0}
li{display:grid;grid-template-columns:1.75rem minmax(0,1fr) auto;gap:2px 8px;padding:10px 0;border-top:1px solid rgba(128,128,128,.3)}
.mark{grid-row:span 2;font-weight:700;text-align:center}.pass .mark{color:#1a7f37}.warn .mark{color:#b35900}.fail .mark{color:#cf222e}
.name{font-weight:600;overflow-wrap:anywhere}.time{grid-column:3;grid-row:1;color:GrayText;font-variant-numeric:tabular-nums;white-space:nowrap}
.message{grid-column:2/4;overflow-wrap:anywhere}.note{font-weight:400;font-size:.8rem;color:GrayText}
</style></head><body><main><h1 class="${report.status}"><span class="mark">${overall.mark}</span> ${title}</h1><p>${report.checks.length} check${report.checks.length === 1 ? "" : "s"} · ${escapeHtml(report.time)}</p><ul>${rows}</ul></main></body></html>`;
}


const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}
