/**
 * defineHealthConfig tests each option and check field with a fast `accepts` and asks
 * zod only when that refuses (the cold path builds no schema). The two must agree on
 * every value: a value `accepts` lets through unchecked is one zod would have passed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { CHECK_FIELD_ACCEPTS, fieldSchemas, OPTION_ACCEPTS } from "../../src/core/config.ts";
import { defineHealthConfig, HealthConfigError } from "../../src/index.ts";
import { passing } from "../helpers/checks.ts";

const MAX_TIMER_MS = 2_147_483_647;

/** Values of every shape, including the edges of each rule. */
const CORPUS: unknown[] = [
  undefined, null, true, false, 0, -0, 1, -1, 0.5, 1.5, 399, 400, 499.9, 500, 599, 600, 3000,
  MAX_TIMER_MS - 1, MAX_TIMER_MS, MAX_TIMER_MS + 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, 2 ** 64,
  Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 10n, "", " ", "500", "true", "/", "/healthcheck/liveness",
  "/a b", "/a?b", "/a#b", "healthcheck", "//x", "/ü", "/\n", Symbol("s"), {}, [], [1], { error: 1 }, { error() {} },
  Object.create(null), new Boolean(true), new Number(500), new String("/x"), () => undefined, async () => undefined,
  class {}, new Date(0), /re/, new Map(),
];

const schemas = fieldSchemas();
for (const [kind, accepts, schemasOfKind] of [["option", OPTION_ACCEPTS, schemas.options], ["check field", CHECK_FIELD_ACCEPTS, schemas.checkFields]] as const) {
  describe(`${kind} tests agree with their zod schemas`, () => {
    it("the same fields", () => assert.deepEqual(Object.keys(accepts).sort(), Object.keys(schemasOfKind).sort()));
    for (const [name, test] of Object.entries(accepts)) {
      it(name, () => {
        const schema = (schemasOfKind as Record<string, (typeof schemasOfKind)[keyof typeof schemasOfKind]>)[name]!;
        for (const value of CORPUS) {
          if (value === undefined) continue; // optional: undefined never reaches a test
          assert.equal(test(value), schema.safeParse(value).success, `${name}: ${inspect(value)}`);
        }
      });
    }
  });
}

describe("options and check fields without zod", () => {
  it("every option and check field set at once is taken; an invalid one still gets zod's message", () => {
    const config = defineHealthConfig({
      subsets: { readiness: [{ ...passing("a"), critical: false, timeoutMs: 10, componentType: "datastore", extra: 1 } as never] },
      timeoutMs: 2000, cacheTtlMs: 0, failureStatus: 503, livenessPath: "/livez", token: "t", logger: false, onStatusChange: () => undefined,
      warningsAsErrors: false, sequential: true,
    });
    assert.equal(config.options.failureStatus, 503);
    assert.throws(
      () => defineHealthConfig({ subsets: { readiness: [passing("a")] }, failureStatus: 600, nope: 1 } as never),
      (error: unknown) =>
        error instanceof HealthConfigError &&
        error.issues.some((issue) => issue.path === "failureStatus" && issue.message === "must be 400–599") &&
        error.issues.some((issue) => issue.message === 'unknown option "nope"'),
    );
    assert.throws(
      () => defineHealthConfig({ subsets: { readiness: [{ ...passing("a"), timeoutMs: 0 }] } }),
      (error: unknown) => error instanceof HealthConfigError && error.issues.some((issue) => issue.path === "subsets.readiness[0].timeoutMs" && issue.message === "must be greater than 0"),
    );
  });

  it("an unknown option named like an Object.prototype member is still unknown", () => {
    for (const key of ["toString", "constructor", "__proto__", "hasOwnProperty"]) {
      const input = JSON.parse(`{ "subsets": {}, ${JSON.stringify(key)}: 1 }`);
      input.subsets = { readiness: [passing("a")] };
      assert.throws(() => defineHealthConfig(input), (error: unknown) => error instanceof HealthConfigError && error.issues.some((issue) => issue.code === "E003"), key);
    }
  });
});
