/**
 * `probekit check --k8s`'s findings (W003–W008) on manifests written here and on the
 * README's own Kubernetes YAML, and its hostile inputs: not YAML, a folder without
 * manifests, odd shapes, 10,000 containers.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { defineCheck, defineHealthConfig, type HealthConfig } from "../../src/index.ts";
import { diagnoseManifests, findDrain, ManifestError, readManifests, type DrainSettings } from "../../src/cli/k8s-diagnostics.ts";
import { DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_DRAIN_MS } from "../../src/node/defaults.ts";

const database = defineCheck({ name: "postgres", componentType: "datastore", check: () => {} });
const heartbeat = defineCheck({ name: "heartbeat", componentType: "system", check: () => {} });
const slow = defineCheck({ name: "search", componentType: "component", timeoutMs: 8000, check: () => {} });

const WEB: HealthConfig = defineHealthConfig({ subsets: { readiness: [database], integrations: [database, slow], liveness: [heartbeat] }, logger: false });
const DRAIN: DrainSettings = { file: "instrumentation.ts", drainMs: DEFAULT_DRAIN_MS, closeTimeoutMs: DEFAULT_CLOSE_TIMEOUT_MS };
const NO_DRAIN: DrainSettings = { file: undefined, drainMs: DEFAULT_DRAIN_MS, closeTimeoutMs: DEFAULT_CLOSE_TIMEOUT_MS };

const GOOD_CONTAINER = {
  name: "web",
  readinessProbe: { httpGet: { path: "/healthcheck/readiness", port: 3000 }, timeoutSeconds: 5 },
  livenessProbe: { httpGet: { path: "/healthcheck/liveness", port: 3000 }, timeoutSeconds: 2 },
};

function deployment(containers: unknown[], pod: Record<string, unknown> = { terminationGracePeriodSeconds: 30 }, name = "web"): Record<string, unknown> {
  return { apiVersion: "apps/v1", kind: "Deployment", metadata: { name }, spec: { template: { spec: { ...pod, containers } } } };
}

function findings(documents: unknown[], config = WEB, drain = DRAIN) {
  return diagnoseManifests([{ name: "deploy.yaml", text: documents.map((document) => stringify(document)).join("---\n") }], config, drain);
}

const codes = (documents: unknown[], config = WEB, drain = DRAIN) => findings(documents, config, drain).map((issue) => issue.code);

describe("probekit check --k8s: findings", () => {
  it("a well-wired Deployment has none", () => {
    assert.deepEqual(findings([deployment([GOOD_CONTAINER])]), []);
  });

  it("W003: an httpGet path nothing of probekit answers, or an unknown subset; each finding names file, object, container, probe and fix", () => {
    const [wrong] = findings([deployment([{ ...GOOD_CONTAINER, readinessProbe: { httpGet: { path: "/health", port: 3000 }, timeoutSeconds: 5 } }])]);
    assert.equal(wrong!.code, "W003");
    assert.equal(wrong!.path, "deploy.yaml Deployment/web container web readinessProbe");
    assert.match(wrong!.message, /neither the liveness path \(\/healthcheck\/liveness\) nor \/healthcheck\/<subset>.*Use/);
    const [unknown] = findings([deployment([{ ...GOOD_CONTAINER, readinessProbe: { httpGet: { path: "/healthcheck/ready", port: 3000 }, timeoutSeconds: 5 } }])]);
    assert.match(unknown!.message, /names subset "ready", which the config does not have \(it has readiness, integrations, liveness\)/);
    // A query string is the probe's business; the path is what counts.
    assert.deepEqual(codes([deployment([{ ...GOOD_CONTAINER, readinessProbe: { httpGet: { path: "/healthcheck/readiness?format=json", port: 3000 }, timeoutSeconds: 5 } }])]), []);
  });

  it("W004: liveness on a subset that reaches other services; a heartbeat subset is fine", () => {
    const [issue] = findings([deployment([{ ...GOOD_CONTAINER, livenessProbe: { httpGet: { path: "/healthcheck/readiness", port: 3000 }, timeoutSeconds: 5 } }])]);
    assert.equal(issue!.code, "W004");
    assert.match(issue!.message, /reach other services \(postgres\).*every pod restarts.*\/healthcheck\/liveness/);
    assert.deepEqual(codes([deployment([{ ...GOOD_CONTAINER, livenessProbe: { httpGet: { path: "/healthcheck/liveness", port: 3000 } } }])]), []);
    const heartbeatLiveness = { ...GOOD_CONTAINER, livenessProbe: { exec: { command: ["node_modules/.bin/probekit", "-s", "liveness", "--skip-checks"] }, timeoutSeconds: 5 } };
    assert.deepEqual(codes([deployment([heartbeatLiveness])]), []);
  });

  it("W005: timeoutSeconds (default 1) below the subset's slowest check plus the answer; --timeout bounds an exec probe", () => {
    const [defaulted] = findings([deployment([{ ...GOOD_CONTAINER, readinessProbe: { httpGet: { path: "/healthcheck/readiness", port: 3000 } } }])]);
    assert.equal(defaulted!.code, "W005");
    assert.match(defaulted!.message, /timeoutSeconds is 1 \(the kubelet's default\), but subset "readiness" may take 3 s .*Set timeoutSeconds: 4/);
    const [slowOne] = findings([deployment([{ ...GOOD_CONTAINER, readinessProbe: { httpGet: { path: "/healthcheck/integrations", port: 3000 }, timeoutSeconds: 5 } }])]);
    assert.match(slowOne!.message, /may take 8 s .*Set timeoutSeconds: 9/);
    const exec = (timeoutSeconds: number, extra: string[] = []) => ({ ...GOOD_CONTAINER, readinessProbe: { exec: { command: ["node_modules/.bin/probekit", "-s", "readiness", "--skip-checks", ...extra] }, timeoutSeconds } });
    assert.deepEqual(codes([deployment([exec(4)])]), []);
    assert.deepEqual(codes([deployment([exec(3)])]), ["W005"]);
    assert.deepEqual(codes([deployment([exec(3, ["--timeout", "1500"])])]), []);
    // The liveness short-circuit runs no check: 1 s is plenty.
    assert.deepEqual(codes([deployment([{ ...GOOD_CONTAINER, livenessProbe: { httpGet: { path: "/healthcheck/liveness", port: 3000 } } }])]), []);
  });

  it("W006: an exec probe without --skip-checks, without --subset, or naming an unknown subset; not probekit's commands are left alone", () => {
    const exec = (command: string[]) => deployment([{ ...GOOD_CONTAINER, readinessProbe: { exec: { command }, timeoutSeconds: 5 } }]);
    const [noSkip] = findings([exec(["npx", "probekit", "--subset", "readiness"])]);
    assert.equal(noSkip!.code, "W006");
    assert.match(noSkip!.message, /without --skip-checks.*Add --skip-checks/);
    assert.match(findings([exec(["probekit", "--skip-checks"])])[0]!.message, /without --subset/);
    assert.match(findings([exec(["sh", "-c", "probekit --subset=nope --skip-checks"])])[0]!.message, /names subset "nope"/);
    assert.deepEqual(codes([exec(["sh", "-c", "pg_isready"])]), []);
  });

  it("W007: a grace period (default 30 s) not above drainMs + closeTimeoutMs, when the app installs the drain", () => {
    const [issue] = findings([deployment([GOOD_CONTAINER], { terminationGracePeriodSeconds: 10 })]);
    assert.equal(issue!.code, "W007");
    assert.equal(issue!.path, "deploy.yaml Deployment/web terminationGracePeriodSeconds");
    assert.match(issue!.message, /is 10, but the drain \(instrumentation\.ts\) takes up to 5 s \+ 10 s to close.*Set terminationGracePeriodSeconds: 20/);
    assert.deepEqual(codes([deployment([GOOD_CONTAINER], {})]), [], "the default 30 s covers the default 15 s");
    assert.deepEqual(codes([deployment([GOOD_CONTAINER], {})], WEB, { file: "server.ts", drainMs: 20_000, closeTimeoutMs: 10_000 }), ["W007"]);
    assert.deepEqual(codes([deployment([GOOD_CONTAINER], { terminationGracePeriodSeconds: 1 })], WEB, NO_DRAIN), [], "no drain installed: nothing to cover");
  });

  it("W008: readiness and liveness on the same path or command", () => {
    const same = { ...GOOD_CONTAINER, livenessProbe: { httpGet: { path: "/healthcheck/readiness", port: 3000 }, timeoutSeconds: 5 } };
    assert.deepEqual(codes([deployment([same])], defineHealthConfig({ subsets: { readiness: [heartbeat] }, logger: false })), ["W008"]);
  });

  it("every workload kind: StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod, and a List of them; other kinds and odd shapes are skipped", () => {
    const bad = [{ ...GOOD_CONTAINER, readinessProbe: { httpGet: { path: "/nope", port: 3000 } } }];
    const template = { template: { spec: { containers: bad } } };
    const documents = [
      { kind: "StatefulSet", metadata: { name: "a" }, spec: template },
      { kind: "DaemonSet", metadata: { name: "b" }, spec: template },
      { kind: "ReplicaSet", metadata: { name: "c" }, spec: template },
      { kind: "Job", metadata: { name: "d" }, spec: template },
      { kind: "CronJob", metadata: { name: "e" }, spec: { jobTemplate: { spec: template } } },
      { kind: "Pod", metadata: { name: "f" }, spec: { containers: bad } },
      { kind: "List", items: [{ kind: "Pod", metadata: { name: "g" }, spec: { containers: bad } }] },
      { kind: "Service", metadata: { name: "web" }, spec: { ports: [{ port: 80 }] } },
      { kind: "Deployment", metadata: { name: "odd" }, spec: { template: { spec: { containers: "not a list" } } } },
      { kind: "Deployment", spec: { template: { spec: { containers: [null, 3, { readinessProbe: "no" }] } } } },
      null,
      "a string",
    ];
    const found = findings(documents);
    assert.deepEqual(found.map((issue) => issue.path.split(" ")[1]), ["StatefulSet/a", "DaemonSet/b", "ReplicaSet/c", "Job/d", "CronJob/e", "Pod/f", "Pod/g"]);
  });
});

describe("probekit check --k8s: the README's Kubernetes YAML", () => {
  it("passes: the web and worker recipes, wrapped in the Deployments they describe", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const kubernetes = readme.slice(readme.indexOf("### Kubernetes"), readme.indexOf("### Bun and Deno"));
    const blocks = [...kubernetes.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => parse(match[1]!) as Record<string, unknown>);
    assert.equal(blocks.length, 2, "the web and the worker container specs");
    // The configs the README describes: the web's readiness checks the database; the worker's liveness is its file heartbeat.
    const web = defineHealthConfig({ subsets: { readiness: [database], integrations: [database] }, logger: false });
    const worker = defineHealthConfig({ subsets: { liveness: [heartbeat], readiness: [database] }, logger: false });
    assert.deepEqual(findings([deployment([{ name: "web", ...blocks[0] }], { terminationGracePeriodSeconds: 30 })], web, DRAIN), []);
    assert.deepEqual(findings([deployment([{ name: "worker", ...blocks[1] }], {}, "worker")], worker, NO_DRAIN), []);
    // And the check is not vacuous: the same recipes with the kubelet's default timeout are caught.
    const strip = (block: Record<string, unknown>) => Object.fromEntries(Object.entries(block).map(([key, value]) => [key, key.endsWith("Probe") ? { ...(value as object), timeoutSeconds: undefined } : value]));
    assert.ok(codes([deployment([{ name: "web", ...strip(blocks[0]!) }])], web).includes("W005"));
  });
});

describe("probekit check --k8s: reading manifests, and hostile input", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "probekit-k8s-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("reads files, folders (recursively, .yaml and .yml) and stdin", async () => {
    await mkdir(join(dir, "base", "nested"), { recursive: true });
    await writeFile(join(dir, "base", "a.yaml"), stringify(deployment([GOOD_CONTAINER])));
    await writeFile(join(dir, "base", "nested", "b.yml"), stringify(deployment([GOOD_CONTAINER])));
    await writeFile(join(dir, "base", "notes.txt"), "not a manifest");
    const sources = readManifests([join(dir, "base"), "-"], () => "kind: Pod\n");
    assert.deepEqual(sources.map((source) => source.name.replace(dir, "")), ["/base/a.yaml", "/base/nested/b.yml", "<stdin>"]);
  });

  it("not YAML, a missing path, a folder without manifests: a ManifestError naming it", async () => {
    assert.throws(() => diagnoseManifests([{ name: "broken.yaml", text: "kind: Deployment\n  spec: [unclosed\n" }], WEB, DRAIN), (error: unknown) => error instanceof ManifestError && /^broken\.yaml: not valid YAML: /.test(error.message));
    assert.throws(() => readManifests([join(dir, "nope.yaml")], () => ""), /nope\.yaml: no such file or folder/);
    await mkdir(join(dir, "empty"));
    assert.throws(() => readManifests([join(dir, "empty")], () => ""), /no \.yaml or \.yml files in this folder/);
    // A YAML bomb of aliases stops at the alias limit instead of eating memory.
    const bomb = `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`;
    assert.throws(() => diagnoseManifests([{ name: "bomb.yaml", text: bomb }], WEB, DRAIN), (error: unknown) => error instanceof ManifestError && /^bomb\.yaml: cannot read the YAML: .*alias/i.test(error.message));
  });

  it("10,000 containers: every one read, every finding reported", () => {
    const containers = Array.from({ length: 10_000 }, (_, index) => ({ name: `c${index}`, readinessProbe: { httpGet: { path: "/healthcheck/readiness", port: 3000 } } }));
    const found = findings([deployment(containers)]);
    assert.equal(found.length, 10_000);
    assert.ok(found.every((issue) => issue.code === "W005"));
  });

  it("findDrain: the drain installed in instrumentation.ts, with literal options read", async () => {
    const app = join(dir, "app");
    await mkdir(join(app, "src"), { recursive: true });
    assert.equal(findDrain(app).file, undefined);
    await writeFile(join(app, "src", "instrumentation.ts"), `export async function register() {\n  const { installShutdownDrain } = await import("probekit/node");\n  installShutdownDrain({ drainMs: 8_000, closeTimeoutMs: someValue });\n}\n`);
    assert.deepEqual(findDrain(app), { file: "src/instrumentation.ts", drainMs: 8000, closeTimeoutMs: DEFAULT_CLOSE_TIMEOUT_MS });
  });

  /** A fresh project folder holding `files` (path → text). */
  async function project(files: Record<string, string>): Promise<string> {
    const root = await mkdtemp(join(dir, "project-"));
    for (const [path, text] of Object.entries(files)) {
      await mkdir(join(root, path, ".."), { recursive: true });
      await writeFile(join(root, path), text);
    }
    return root;
  }
  const DRAIN_CALL = `import { installShutdownDrain } from "probekit/node";\ninstallShutdownDrain({ drainMs: 25_000 });\n`;
  const w007 = (drain: DrainSettings) => findings([deployment([GOOD_CONTAINER], { terminationGracePeriodSeconds: 30 })], WEB, drain).filter((issue) => issue.code === "W007");

  it("W007 finds the drain in instrumentation, server, index or main (.ts .mts .js .mjs .cjs), at the root or in src/, and names that file", async () => {
    for (const folder of ["", "src/"]) {
      for (const name of ["instrumentation", "server", "index", "main"]) {
        for (const extension of [".ts", ".mts", ".js", ".mjs", ".cjs"]) {
          const file = `${folder}${name}${extension}`;
          const drain = findDrain(await project({ [file]: DRAIN_CALL }));
          assert.deepEqual(drain, { file, drainMs: 25_000, closeTimeoutMs: DEFAULT_CLOSE_TIMEOUT_MS }, file);
          const [issue, ...more] = w007(drain);
          assert.equal(more.length, 0, file);
          assert.ok(issue!.message.includes(`the drain (${file}) takes up to 25 s + 10 s`), `${file}: ${issue!.message}`);
        }
      }
    }
  });

  it("W007 reads no other file: a drain in app.ts, server.tsx, lib/server.ts, src/server/index.ts or app/instrumentation.ts is not found, and nothing is reported", async () => {
    const files = ["app.ts", "server.tsx", "start.js", "lib/server.ts", "src/server/index.ts", "src/app.ts", "app/instrumentation.ts"];
    const root = await project(Object.fromEntries(files.map((file) => [file, DRAIN_CALL])));
    const drain = findDrain(root);
    assert.equal(drain.file, undefined);
    assert.deepEqual(findings([deployment([GOOD_CONTAINER], { terminationGracePeriodSeconds: 1 })], WEB, drain), [], "no drain found: no grace period to hold to it");
  });

  it("W007 passes over a candidate file without the call (an index.ts that only starts the app) to the one that installs the drain", async () => {
    const root = await project({ "index.ts": `import "./src/app";\n`, "src/instrumentation.ts": DRAIN_CALL });
    assert.equal(findDrain(root).file, "src/instrumentation.ts");
  });

  it("W007 reads a literal option that follows an arrow function (onDrained: () => pool.end()), over several lines", async () => {
    const root = await project({
      "server.ts": `installShutdownDrain({\n  server,\n  onDrained: () => pool.end(),\n  closeTimeoutMs: 20_000,\n});\n`,
    });
    const drain = findDrain(root);
    assert.deepEqual(drain, { file: "server.ts", drainMs: DEFAULT_DRAIN_MS, closeTimeoutMs: 20_000 });
    // 5 s + 20 s: a 25 s grace period is not above it.
    const found = findings([deployment([GOOD_CONTAINER], { terminationGracePeriodSeconds: 25 })], WEB, drain);
    assert.deepEqual(found.map((issue) => issue.code), ["W007"]);
    assert.match(found[0]!.message, /takes up to 5 s \+ 20 s to close.*Set terminationGracePeriodSeconds: 30/);
  });
});
