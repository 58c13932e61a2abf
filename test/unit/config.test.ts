import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defineHealthConfig, diagnoseHealthConfig, HealthConfigError, isHealthConfig, type HealthConfigInput } from "../../src/index.ts";
import { passing } from "../helpers/checks.ts";

/** The codes `defineHealthConfig` throws for an input, in order. */
function codesOf(input: unknown): string[] {
  try {
    defineHealthConfig(input as HealthConfigInput);
  } catch (error) {
    assert.ok(error instanceof HealthConfigError, `expected HealthConfigError, got ${String(error)}`);
    return error.issues.map((issue) => issue.code);
  }
  return [];
}

describe("defineHealthConfig", () => {
  it("applies the documented defaults", () => {
    const config = defineHealthConfig({ subsets: { readiness: [passing("a")] } });
    assert.ok(isHealthConfig(config));
    assert.deepEqual(
      { ...config.options },
      {
        warningsAsErrors: true,
        timeoutMs: 3000,
        sequential: false,
        cacheTtlMs: 1000,
        failureStatus: 500,
        livenessPath: "/healthcheck/liveness",
        token: undefined,
        logger: undefined,
        onStatusChange: undefined,
      },
    );
  });

  it("keeps the options it is given", () => {
    const logger = { error() {} };
    const config = defineHealthConfig({
      subsets: { readiness: [] },
      warningsAsErrors: false,
      timeoutMs: 50,
      sequential: true,
      cacheTtlMs: 0,
      failureStatus: 503,
      livenessPath: "/livez",
      token: "secret",
      logger,
    });
    assert.equal(config.options.failureStatus, 503);
    assert.equal(config.options.cacheTtlMs, 0);
    assert.equal(config.options.logger, logger);
    assert.equal(config.options.livenessPath, "/livez");
  });

  it("neither runs checks nor calls factories when defining", () => {
    let touched = 0;
    defineHealthConfig({
      subsets: {
        readiness: [{ name: "a", check: () => void touched++ }, () => (touched++, passing("b"))],
      },
    });
    assert.equal(touched, 0);
  });

  it("is not affected by later changes to the input", () => {
    const readiness = [passing("a")];
    const config = defineHealthConfig({ subsets: { readiness } });
    readiness.push(passing("b"));
    assert.equal(config.subsets.readiness!.length, 1);
    assert.ok(Object.isFrozen(config.subsets.readiness));
  });

  it("E001: no subsets, or no config at all", () => {
    assert.deepEqual(codesOf({ subsets: {} }), ["E001"]);
    assert.deepEqual(codesOf({}), ["E001"]);
    assert.deepEqual(codesOf({ subsets: [] }), ["E001"]);
    assert.deepEqual(codesOf(null), ["E001"]);
    assert.deepEqual(codesOf("readiness"), ["E001"]);
  });

  it("E002: a subset that is not an array", () => {
    assert.deepEqual(codesOf({ subsets: { readiness: passing("a") } }), ["E002"]);
    assert.deepEqual(codesOf({ subsets: { readiness: "db" } }), ["E002"]);
  });

  it("E003: invalid or unknown options, each named", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ timeoutMs: 0 }, "timeoutMs"],
      [{ timeoutMs: -5 }, "timeoutMs"],
      [{ timeoutMs: 1.5 }, "timeoutMs"],
      [{ timeoutMs: "3000" }, "timeoutMs"],
      [{ timeoutMs: 2 ** 40 }, "timeoutMs"],
      [{ cacheTtlMs: -1 }, "cacheTtlMs"],
      [{ failureStatus: 200 }, "failureStatus"],
      [{ failureStatus: 600 }, "failureStatus"],
      [{ warningsAsErrors: "yes" }, "warningsAsErrors"],
      [{ livenessPath: "healthcheck" }, "livenessPath"],
      [{ livenessPath: "/a?b" }, "livenessPath"],
      [{ token: 42 }, "token"],
      [{ logger: {} }, "logger"],
      [{ timeout: 3000 }, "options"],
    ];
    for (const [options, path] of cases) {
      try {
        defineHealthConfig({ subsets: { readiness: [] }, ...options } as HealthConfigInput);
        assert.fail(`accepted ${JSON.stringify(options)}`);
      } catch (error) {
        assert.ok(error instanceof HealthConfigError);
        assert.deepEqual(error.issues.map((issue) => issue.code), ["E003"], JSON.stringify(options));
        assert.equal(error.issues[0]!.path, path, JSON.stringify(options));
      }
    }
  });

  it("E003 names an unknown option so a typo is caught", () => {
    const issues = diagnoseHealthConfig({ subsets: { readiness: [] }, timeout: 3000 });
    assert.match(issues[0]!.message, /unknown option "timeout"/);
  });

  it("E004: entries that are not checks", () => {
    const entries = [null, 42, "db", {}, { name: "x" }, { check() {} }, { name: "", check() {} }, { name: "  ", check() {} }, [passing("a")]];
    for (const entry of entries) {
      assert.deepEqual(codesOf({ subsets: { readiness: [entry] } }), ["E004"], String(JSON.stringify(entry)));
    }
    assert.deepEqual(codesOf({ subsets: { readiness: [passing("a", { critical: "no" as never })] } }), ["E004"]);
    assert.deepEqual(codesOf({ subsets: { readiness: [passing("a", { timeoutMs: -1 })] } }), ["E004"]);
  });

  it("E005: factories that throw or return a non-check (found by diagnose, which calls them)", () => {
    const issues = diagnoseHealthConfig({
      subsets: {
        readiness: [
          () => {
            throw new Error("no env");
          },
          () => 42,
          () => passing("fine"),
        ],
      },
    });
    assert.deepEqual(issues.map((issue) => [issue.code, issue.path]), [
      ["E005", "subsets.readiness[0]"],
      ["E005", "subsets.readiness[1]"],
    ]);
    assert.match(issues[0]!.message, /factory threw: Error: no env/);
  });

  it("E006: duplicate names in one subset are an error, not an overwrite", () => {
    const error = (() => {
      try {
        defineHealthConfig({ subsets: { readiness: [passing("db"), passing("cache"), passing("db")] } });
      } catch (caught) {
        return caught as HealthConfigError;
      }
      assert.fail("accepted duplicate names");
    })();
    assert.deepEqual(error.issues.map((issue) => issue.code), ["E006"]);
    assert.equal(error.issues[0]!.path, "subsets.readiness[2]");
    assert.match(error.message, /E006 subsets\.readiness\[2\]: duplicate check name "db" \(also at subsets\.readiness\[0\]\)/);
    // The same name in two subsets is fine.
    assert.deepEqual(codesOf({ subsets: { readiness: [passing("db")], integrations: [passing("db")] } }), []);
  });

  it("E006 also covers names behind factories when diagnosing", () => {
    const issues = diagnoseHealthConfig({ subsets: { readiness: [passing("db"), () => passing("db")] } });
    assert.deepEqual(issues.map((issue) => issue.code), ["E006"]);
  });

  it("E007: subset names that cannot be a path segment", () => {
    for (const name of ["", "ready ness", "a/b", "../x", "__proto__", "-x", "é", "x".repeat(65), "a%20b"]) {
      const subsets = Object.defineProperty({}, name, { value: [passing("a")], enumerable: true });
      assert.deepEqual(codesOf({ subsets }), ["E007"], JSON.stringify(name));
    }
    for (const name of ["readiness", "integrations", "v2.ready", "worker_liveness", "A-1"]) {
      assert.deepEqual(codesOf({ subsets: { [name]: [] } }), [], name);
    }
  });

  it("lists every problem at once, with codes and paths", () => {
    try {
      defineHealthConfig({
        subsets: { readiness: [passing("a"), passing("a"), 3], "bad name": [], jobs: "x" },
        timeoutMs: -1,
      } as unknown as HealthConfigInput);
      assert.fail("accepted a broken config");
    } catch (error) {
      assert.ok(error instanceof HealthConfigError);
      assert.deepEqual(error.issues.map((issue) => issue.code).sort(), ["E002", "E003", "E004", "E006", "E007"]);
      assert.match(error.message, /^probekit: invalid health config \(5 problems\):/);
      for (const code of ["E002", "E003", "E004", "E006", "E007"]) assert.match(error.message, new RegExp(`\\n  ${code} `));
    }
  });
});

describe("defineHealthConfig: options given as undefined", () => {
  it("an empty token (a blank env var) counts as none", () => {
    assert.equal(defineHealthConfig({ subsets: { readiness: [] }, token: "" }).options.token, undefined);
  });

  it("keep their defaults (token: process.env.UNSET)", () => {
    const config = defineHealthConfig({ subsets: { readiness: [] }, timeoutMs: undefined, token: undefined, cacheTtlMs: undefined });
    assert.equal(config.options.timeoutMs, 3000);
    assert.equal(config.options.cacheTtlMs, 1000);
    assert.equal(config.options.token, undefined);
  });

  it("a defined config is diagnosed again as a whole, options included", () => {
    const config = defineHealthConfig({ subsets: { readiness: [passing("a")] }, timeoutMs: 50 });
    assert.deepEqual(diagnoseHealthConfig(config), []);
  });
});
