/**
 * The exposition through Prometheus's own parsers (promtool, Debian's `prometheus`
 * package), with hostile check names: `promtool check metrics` lints the 0.0.4 text,
 * and `promtool tsdb create-blocks-from openmetrics` parses OpenMetrics (strictly:
 * `# EOF`, types, units) into a TSDB whose dump gives every label value back as written.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { defineCheck, defineHealthConfig, runHealthChecks, ServiceWarning, toMetricsText } from "../../src/index.ts";

function promtool(args: string[], input?: string) {
  const result = spawnSync("promtool", args, { encoding: "utf8", input, timeout: 60_000 });
  if (result.error) throw new Error(`promtool could not run (${result.error.message}): apt-get install prometheus (.ci/run does)`);
  return result;
}

// Names JSON.stringify quotes as Go's %q does (promtool's dump), and worse ones that only have to parse.
const ROUND_TRIP_NAMES = ['a"b\\c\nd', "tab\there", "é ü 日本 💥", "}{,= #HELP # EOF", "\\n literal", "trailing\\"];
const HOSTILE_NAMES = [...ROUND_TRIP_NAMES, "nul\u0000byte", "cr\rlf", "\u2028line-sep", "x".repeat(300)];

const config = defineHealthConfig({
  subsets: {
    readiness: HOSTILE_NAMES.map((name, index) =>
      defineCheck({
        name,
        critical: index % 2 === 0,
        check: () => {
          if (index % 3 === 1) throw new ServiceWarning("slow");
          if (index % 3 === 2) throw new Error(`raw driver text ${name}`);
        },
      }),
    ),
    integrations: [defineCheck({ name: "ok", check: () => {} })],
  },
  logger: false,
  cacheTtlMs: 0,
});

const folder = mkdtempSync(join(tmpdir(), "probekit-promtool-"));
after(() => rmSync(folder, { recursive: true, force: true }));

describe("the exposition through promtool", () => {
  it("promtool check metrics accepts the 0.0.4 text with hostile check names, with no lint finding", async () => {
    const reports = [await runHealthChecks(config, "readiness"), await runHealthChecks(config, "integrations")];
    const result = promtool(["check", "metrics"], toMetricsText(config, reports, "prometheus"));
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.equal(`${result.stdout}${result.stderr}`.trim(), "", "no lint finding");
  });

  it("Prometheus's OpenMetrics parser reads every series back with its label values as written", async () => {
    const reports = [await runHealthChecks(config, "readiness"), await runHealthChecks(config, "integrations")];
    const text = toMetricsText(config, reports, "openmetrics");
    // create-blocks-from wants a timestamp on each sample (a scrape does not); nothing else changes.
    const stamped = text
      .split("\n")
      .map((line) => (line === "" || line.startsWith("#") ? line : `${line} 1700000000`))
      .join("\n");
    const file = join(folder, "scrape.om");
    const blocks = join(folder, "blocks");
    writeFileSync(file, stamped);
    const created = promtool(["tsdb", "create-blocks-from", "openmetrics", file, blocks]);
    assert.equal(created.status, 0, `${created.stdout}\n${created.stderr}`);
    assert.doesNotMatch(`${created.stdout}${created.stderr}`, /error|expected/i, `${created.stdout}\n${created.stderr}`);

    mkdirSync(join(blocks, "wal"), { recursive: true });
    const dump = promtool(["tsdb", "dump", blocks]);
    assert.equal(dump.status, 0, dump.stderr);
    const series = dump.stdout.trim().split("\n");
    const expected = text.split("\n").filter((line) => line !== "" && !line.startsWith("#")).length;
    assert.equal(series.length, expected, "every sample became a series");
    for (const name of ROUND_TRIP_NAMES) {
      const quoted = `check=${JSON.stringify(name)}`;
      const lines = series.filter((line) => line.includes(`__name__="probekit_check_status", ${quoted},`));
      assert.equal(lines.length, 3, `three status series for ${quoted}`);
    }
    assert.ok(!dump.stdout.includes("raw driver text"), "no error text in any label or value");
  });
});
