/**
 * The CLI's text output: one line per check, in subset order — a mark and the
 * name, the status, the message (full detail: the CLI is local) and the time
 * taken. Colours only on a terminal, never with NO_COLOR or when piped.
 */
import type { HealthConfigIssue } from "../core/errors.js";
import { MARKS } from "../core/render.js";
import type { HealthReport, HealthStatus } from "../core/runner.js";
import { formatMs } from "../core/util.js";

export interface Style {
  status(status: HealthStatus, text: string): string;
  dim(text: string): string;
}

const CODES: Record<HealthStatus | "dim", [number, number]> = { pass: [32, 39], warn: [33, 39], fail: [31, 39], dim: [2, 22] };

/** Colours when writing to a terminal, unless NO_COLOR is set (https://no-color.org) or TERM is dumb. */
export function styleFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv): Style {
  const colour = stream.isTTY === true && !env.NO_COLOR && env.TERM !== "dumb";
  const paint = (kind: HealthStatus | "dim", text: string) => (colour ? `\u001b[${CODES[kind][0]}m${text}\u001b[${CODES[kind][1]}m` : text);
  return { status: paint, dim: (text) => paint("dim", text) };
}

export function formatReport(report: HealthReport, style: Style): string {
  const width = Math.max(0, ...report.checks.map((check) => check.name.length));
  const lines = report.checks.map((check) => {
    const status = style.status(check.status, `${MARKS[check.status].mark} ${check.name.padEnd(width)}  ${check.status.padEnd(4)}`);
    const message = check.detail || (check.status === "pass" ? "working" : "");
    const note = check.critical ? "" : " (non-critical)";
    return `${status}  ${message}${note}  ${style.dim(formatMs(check.durationMs))}`;
  });
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}

export function formatIssues(issues: readonly HealthConfigIssue[]): string {
  return issues.map((issue) => `${issue.code} ${issue.path}: ${issue.message}\n`).join("");
}
