/**
 * The README's Kubernetes recipes held to probekit's defaults: a probe that runs
 * checks must give the kubelet longer than the checks' timeout (or it gives up first
 * and reports a timeout instead of probekit's reason), exec probes skip the config
 * diagnostics, and the grace period covers the drain.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { DEFAULT_OPTIONS } from "../../src/core/config.ts";
import { lastPathSegment } from "../../src/core/handler.ts";
import { isLivenessPath } from "../../src/middleware/index.ts";
import { DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_DRAIN_MS } from "../../src/node/defaults.ts";

const README = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const YAML_BLOCKS = [...README.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]!);
/** The kubelet's own default when a probe names no timeoutSeconds. */
const KUBELET_DEFAULT_TIMEOUT_S = 1;
/** What a probe needs beyond the checks' timeout: the answer itself, or a CLI's start. */
const ROOM_MS = 1000;

interface Probe {
  httpGet?: { path?: string };
  exec?: { command?: string[] };
  timeoutSeconds?: number;
}

const probes = YAML_BLOCKS.flatMap((block, index) => {
  const parsed = parse(block) as Record<string, unknown> | null;
  if (parsed === null || typeof parsed !== "object") return [];
  return (["startupProbe", "readinessProbe", "livenessProbe"] as const)
    .filter((kind) => kind in parsed)
    .map((kind) => ({ where: `yaml block ${index + 1} ${kind}`, probe: parsed[kind] as Probe }));
});

describe("README: Kubernetes recipes against the defaults", () => {
  it("has recipes with probes (so the checks below check something)", () => {
    assert.ok(probes.length >= 6, `found ${probes.length} probes`);
    assert.ok(probes.some(({ probe }) => probe.httpGet) && probes.some(({ probe }) => probe.exec));
  });

  it("every probe that runs checks gives the kubelet longer than the checks' timeout", () => {
    for (const { where, probe } of probes) {
      const timeoutMs = (probe.timeoutSeconds ?? KUBELET_DEFAULT_TIMEOUT_S) * 1000;
      const path = probe.httpGet?.path;
      if (path !== undefined && isLivenessPath(path, DEFAULT_OPTIONS.livenessPath)) continue; // the short-circuit runs no check
      assert.ok(
        timeoutMs >= DEFAULT_OPTIONS.timeoutMs + ROOM_MS,
        `${where}: timeoutSeconds ${timeoutMs / 1000} s, but its checks may take ${DEFAULT_OPTIONS.timeoutMs / 1000} s (the default timeoutMs) plus the answer`,
      );
    }
  });

  it("http probes name a subset under the mount; exec probes name one and skip the diagnostics", () => {
    for (const { where, probe } of probes) {
      if (probe.httpGet) {
        const path = probe.httpGet.path ?? "";
        assert.match(path, /^\/healthcheck\/[A-Za-z0-9._-]+$/, where);
        assert.ok(lastPathSegment(path), where);
      } else {
        const command = probe.exec?.command ?? [];
        assert.ok(command.some((part) => part.endsWith("probekit")), `${where}: ${command.join(" ")}`);
        assert.ok(command.includes("--skip-checks"), `${where}: an exec probe without --skip-checks runs the config diagnostics every time`);
        const at = command.findIndex((part) => part === "-s" || part === "--subset");
        assert.ok(at !== -1 && command[at + 1], `${where}: no subset named`);
      }
    }
  });

  it("the web pod's grace period covers the drain and the close that follows", () => {
    const grace = /terminationGracePeriodSeconds: (\d+)/.exec(YAML_BLOCKS.join("\n"));
    assert.ok(grace, "no terminationGracePeriodSeconds in the recipes");
    assert.ok(Number(grace[1]) * 1000 >= DEFAULT_DRAIN_MS + DEFAULT_CLOSE_TIMEOUT_MS, `grace ${grace[1]} s < drain ${DEFAULT_DRAIN_MS} ms + close ${DEFAULT_CLOSE_TIMEOUT_MS} ms`);
  });

  it("the prose says the default timeout the code has", () => {
    for (const match of README.matchAll(/default (\d+) s\b/g)) {
      const context = README.slice(Math.max(0, match.index! - 80), match.index! + 20);
      if (/timeout/i.test(context) && !/drain|close|stale/i.test(context)) assert.equal(Number(match[1]) * 1000, DEFAULT_OPTIONS.timeoutMs, context);
    }
  });
});
