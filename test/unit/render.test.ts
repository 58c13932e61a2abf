/**
 * The JSON body of an uncached answer is written out field by field
 * (toHealthJsonText); it must be byte for byte what JSON.stringify makes of the
 * public document (toHealthJson), whatever the checks are named or report.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toHealthJson, toHealthJsonText } from "../../src/core/render.ts";
import type { CheckReport, HealthReport } from "../../src/core/runner.ts";

const TIME = "2026-12-02T01:50:00.000Z";

function check(name: string, fields: Partial<CheckReport> = {}): CheckReport {
  return { name, status: "pass", critical: true, componentType: undefined, output: "", detail: "", error: undefined, observedValue: 0.01, observedUnit: "ms", durationMs: 0.01, timeoutMs: 3000, time: TIME, ...fields };
}

function report(checks: CheckReport[], status: HealthReport["status"] = "pass"): HealthReport {
  return { subset: "readiness", status, checks, time: TIME, durationMs: 0.05 };
}

const REPORTS: Record<string, HealthReport> = {
  "three passing checks": report([check("db"), check("cache"), check("queue")]),
  "no checks": report([]),
  "a warning and a failure, with outputs and details": report(
    [check("disk", { status: "warn", output: "disk 95% used", detail: "disk 95% used (cause: statfs)" }), check("db", { status: "fail", output: "unavailable: connection refused", detail: "raw 10.0.0.1", critical: false })],
    "fail",
  ),
  "componentType, and every kind of observed value": report([
    check("a", { componentType: "datastore", observedValue: 12, observedUnit: "MB" }),
    check("b", { observedValue: "ok", observedUnit: "" }),
    check("c", { observedValue: true }),
    check("d", { observedValue: -0 }),
    check("e", { observedValue: 1e21 }),
    check("f", { observedValue: 5e-7 }),
  ]),
  "names and messages JSON must escape": report([
    check('quote " and \\ backslash', { output: "line\nbreak\ttab\u0000nul" }),
    check("unicode ✓ 🚀 \u2028 \ud800", { output: "<script>alert(1)</script>" }),
    check("__proto__"),
    check("constructor"),
    check(""),
  ]),
  "duplicate names, as toHealthJson keys them": report([check("x"), check("x"), check("x (1)"), check("x")]),
  "a generated key that an earlier check already holds": report([check("x"), check("x (2)"), check("x")]),
  "names that are array indexes (JSON puts those keys first)": report([check("b"), check("1"), check("0"), check("a")]),
  "a check at its own time": report([check("a"), check("b", { time: "2026-12-02T01:50:00.250Z" }), check("c")]),
  "fields that are not the runner's plain values": report([
    check("a", { observedValue: Number.NaN }),
    check("b", { componentType: 7 as unknown as string }),
    check("c", { output: undefined as unknown as string }),
  ]),
  "a status outside the three": report([check("a", { status: "constructor" as unknown as "pass" })], "pass"),
  "a report status outside the three": report([check("a")], "toString" as unknown as "pass"),
};

describe("toHealthJsonText", () => {
  for (const [what, value] of Object.entries(REPORTS)) {
    it(`is JSON.stringify(toHealthJson(…)) for ${what}`, () => {
      for (const detail of [false, true]) {
        assert.equal(toHealthJsonText(value, { detail }), JSON.stringify(toHealthJson(value, { detail })), `detail: ${detail}`);
      }
    });
  }

  it("shows the public output, or the detail only when asked", () => {
    const failing = report([check("db", { status: "fail", output: "unavailable: connection refused", detail: "password=hunter2" })], "fail");
    assert.doesNotMatch(toHealthJsonText(failing, { detail: false }), /hunter2/);
    assert.match(toHealthJsonText(failing, { detail: true }), /hunter2/);
    assert.deepEqual(JSON.parse(toHealthJsonText(failing, { detail: false })), { status: "fail", checks: { db: [{ status: "fail", observedValue: 0.01, observedUnit: "ms", time: TIME, output: "unavailable: connection refused", critical: true }] } });
  });
});
