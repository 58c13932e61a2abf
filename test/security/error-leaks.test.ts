/**
 * What a check throws never reaches a public body: for arbitrary raw error text
 * (as an Error's message, a thrown string, deep in a `cause` chain, or the
 * `message` of a thrown plain object), neither JSON nor HTML from either adapter
 * contains it, unless the request carries the right bearer token; and no wrong
 * token, of any length, unlocks it.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { defineCheck, ServiceUnavailable, ServiceWarning } from "../../src/index.ts";
import { createHealthRoute } from "../../src/next/index.ts";
import { ADAPTERS, type Adapter } from "../helpers/adapters.ts";
import { quietConfig } from "../helpers/checks.ts";
import { recordProcessFaults } from "../helpers/process-faults.ts";

const faults = recordProcessFaults();
after(async () => {
  for (const adapter of ADAPTERS) await adapter.close();
  await faults.assertNoneAfter(200);
});

const TOKEN = "tok-Q2xnV1p3Y2Vh-9f8e7d6c5b4a";

/** How a check lets the raw text out, and the public output that must be shown instead. */
const SHAPES = {
  "Error message": { throws: (raw: string) => new Error(raw), output: "unavailable: unexpected error" },
  "thrown string": { throws: (raw: string) => raw, output: "unavailable: unexpected error" },
  "TypeError, async": { throws: (raw: string) => new TypeError(raw), output: "unavailable: unexpected error" },
  "cause chain under an unknown error": {
    throws: (raw: string) => new Error("fetch failed", { cause: new Error("connect failed", { cause: new Error(raw) }) }),
    output: "unavailable: unexpected error",
  },
  "cause of a ServiceUnavailable": { throws: (raw: string) => new ServiceUnavailable("connection refused", { cause: new Error(raw) }), output: "unavailable: connection refused" },
  "cause chain of a ServiceWarning": {
    throws: (raw: string) => new ServiceWarning("slow", { cause: { message: "wrapped", cause: raw } }),
    output: "warning: slow",
  },
  "plain object with a message": { throws: (raw: string) => ({ message: raw, code: "EWHATEVER" }), output: "unavailable: unexpected error" },
  "object with a message and a stack": { throws: (raw: string) => ({ name: "DriverError", message: raw, stack: `DriverError: ${raw}\n    at x` }), output: "unavailable: unexpected error" },
} as const;
type Shape = keyof typeof SHAPES;

/** What the one check of the subset throws next: set before each request (the cache is off, requests are sequential). */
let next: { shape: Shape; raw: string } = { shape: "Error message", raw: "" };

const check = defineCheck({
  name: "db",
  async check() {
    const { shape, raw } = next;
    if (shape === "TypeError, async") await Promise.resolve();
    throw SHAPES[shape].throws(raw);
  },
});
const config = quietConfig({ subsets: { readiness: [check] }, cacheTtlMs: 0, token: TOKEN });
const route = createHealthRoute(config);

/** The surfaces a probe can reach: both adapters, and the Next route. */
const SURFACES: { name: string; serve(path: string, headers: Record<string, string>): Promise<Response> }[] = [
  ...ADAPTERS.map((adapter: Adapter) => ({ name: adapter.name, serve: (path: string, headers: Record<string, string>) => adapter.serve(config, path, { headers }) })),
  { name: "createHealthRoute", serve: (path, headers) => route.GET(new Request(`http://app.test${path}`, { headers }), { params: Promise.resolve({ subset: "readiness" }) }) },
];

/** The forms the raw text could take in a body: as is, JSON-escaped, HTML-escaped. */
function forms(text: string): string[] {
  const json = JSON.stringify(text).slice(1, -1);
  const html = text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  return [...new Set([text, json, html, JSON.stringify(json).slice(1, -1)])];
}

/** Text the page itself is made of, which random text may collide with; only longer, unique texts are meaningful. */
let pageText = "";

async function bodies(headers: Record<string, string>): Promise<{ surface: string; format: string; status: number; body: string }[]> {
  const out = [];
  for (const surface of SURFACES) {
    for (const format of ["json", "html"]) {
      const response = await surface.serve(`/healthcheck/readiness?format=${format}`, headers);
      out.push({ surface: surface.name, format, status: response.status, body: await response.text() });
    }
  }
  return out;
}

describe("raw error text never reaches a public body", () => {
  it("a fixed leak first: host, user, password and SQL stay out of every public body", async () => {
    next = { shape: "Error message", raw: 'connect ECONNREFUSED 10.1.2.3:5432 user "app" password=hunter2 select * from secrets' };
    for (const { surface, format, status, body } of await bodies({})) {
      assert.equal(status, 500, `${surface} ${format}`);
      for (const secret of ["ECONNREFUSED", "10.1.2.3", "5432", "hunter2", "select *", "secrets", "&quot;app&quot;", '\\"app\\"']) {
        assert.ok(!body.includes(secret), `${surface} ${format} leaked ${secret}`);
      }
      pageText += body;
    }
  });

  it("arbitrary raw text, in every shape a check can throw it: absent without the token, present with it (fast-check)", async () => {
    const marker = fc.stringMatching(/^[A-Za-z0-9]{12}$/).map((random) => `LEAK${random}`);
    const text = fc.oneof(
      fc.string({ unit: "binary", maxLength: 120 }),
      fc.string({ unit: "grapheme-ascii", maxLength: 120 }),
      fc.constantFrom("<script>alert(1)</script>", "\"'&<>", "\u0000\r\n\t", "password=hunter2", "${process.env.SECRET}", "\\u0041", "</p><p>"),
    );
    const shape = fc.constantFrom(...(Object.keys(SHAPES) as Shape[]));
    const wrongAuth = fc.constantFrom<Record<string, string>>({}, { authorization: "Bearer wrong" }, { authorization: `Basic ${TOKEN}` }, { authorization: TOKEN }, { "x-health-token": TOKEN });

    await fc.assert(
      fc.asyncProperty(marker, text, shape, wrongAuth, async (mark, suffix, shapeName, publicHeaders) => {
        const raw = `${mark}${suffix}`;
        next = { shape: shapeName, raw };
        // Text long and unique enough to mean something: not a piece of the page itself.
        const meaningful = [mark, ...(suffix.length >= 12 && !pageText.includes(suffix) ? [suffix] : [])];

        for (const { surface, format, status, body } of await bodies(publicHeaders)) {
          const where = `${shapeName} via ${surface} as ${format}, headers ${JSON.stringify(publicHeaders)}`;
          assert.equal(status, 500, where); // a warning fails too: warningsAsErrors is on by default
          for (const secret of meaningful) for (const form of forms(secret)) assert.ok(!body.includes(form), `${where}: leaked ${JSON.stringify(form.slice(0, 40))}`);
          if (format === "json") assert.equal(JSON.parse(body).checks.db[0].output, SHAPES[shapeName].output, where);
          else assert.ok(body.includes(SHAPES[shapeName].output), where);
        }

        for (const { surface, format, body } of await bodies({ authorization: `Bearer ${TOKEN}` })) {
          const where = `${shapeName} via ${surface} as ${format}, with the token`;
          if (format === "json") assert.ok((JSON.parse(body).checks.db[0].output as string).includes(mark), where);
          else assert.ok(body.includes(mark), where);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe("the bearer-token compare", () => {
  const SECRET = "DETAIL-only-with-the-token-31337";
  const leaky = defineCheck({ name: "db", check: () => { throw new Error(SECRET); } });
  const tokenConfig = quietConfig({ subsets: { s: [leaky] }, cacheTtlMs: 0, token: TOKEN });

  /** True when the JSON body shows the detail: asked of every surface, which must agree. */
  async function unlocks(authorization: string): Promise<boolean> {
    const answers = await Promise.all([
      ...ADAPTERS.map((adapter) => adapter.serve(tokenConfig, "/healthcheck/s?format=json", { headers: { authorization } })),
      createHealthRoute(tokenConfig).GET(new Request("http://app.test/healthcheck/s?format=json", { headers: { authorization } })),
    ]);
    const unlocked = await Promise.all(answers.map(async (response) => (assert.equal(response.status, 500), (await response.text()).includes(SECRET))));
    assert.ok(unlocked.every((value) => value === unlocked[0]), `surfaces disagree on ${JSON.stringify(authorization)}: ${unlocked}`);
    return unlocked[0]!;
  }

  it("the right token unlocks, with any case of the scheme and spaces or tabs around it", async () => {
    for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER ${TOKEN}`, `Bearer   ${TOKEN}`, `Bearer\t${TOKEN}`, `Bearer ${TOKEN} \t`]) {
      assert.equal(await unlocks(authorization), true, authorization);
    }
  });

  it("wrong tokens of every length from 0 to 96, prefixes, extensions and one-character changes never unlock", async () => {
    const wrong = new Set<string>();
    for (let length = 0; length <= 96; length++) {
      wrong.add(TOKEN.slice(0, length)); // every prefix (and the empty token)
      wrong.add(TOKEN.padEnd(length, "x").slice(0, length));
      wrong.add("a".repeat(length));
    }
    for (let index = 0; index < TOKEN.length; index++) {
      const code = TOKEN.charCodeAt(index);
      wrong.add(TOKEN.slice(0, index) + String.fromCharCode(code ^ 1) + TOKEN.slice(index + 1));
      wrong.add(TOKEN.slice(0, index) + TOKEN.slice(index + 1));
    }
    for (const extra of ["x", "=", "==", ",", TOKEN]) wrong.add(TOKEN + extra);
    wrong.add(TOKEN.toUpperCase());
    wrong.add(TOKEN.toLowerCase());
    wrong.add(TOKEN.replace("-", "_"));
    wrong.delete(TOKEN);
    for (const token of wrong) assert.equal(await unlocks(`Bearer ${token}`), false, JSON.stringify(token));
  });

  it("the right token in the wrong place or scheme never unlocks", async () => {
    for (const authorization of [TOKEN, `Basic ${TOKEN}`, `Token ${TOKEN}`, `Bearer: ${TOKEN}`, `Bearer=${TOKEN}`, `Bearer${TOKEN}`, `Bearer ${TOKEN} extra`, `Bearer ${TOKEN},`, `Bearer "${TOKEN}"`, `Bearer ${Buffer.from(TOKEN).toString("base64")}`, `xBearer ${TOKEN}`]) {
      assert.equal(await unlocks(authorization), false, authorization);
    }
    for (const adapter of ADAPTERS) {
      const response = await adapter.serve(tokenConfig, `/healthcheck/s?format=json&token=${TOKEN}&authorization=Bearer%20${TOKEN}`, { headers: { cookie: `token=${TOKEN}`, "x-authorization": `Bearer ${TOKEN}`, "proxy-authorization": `Bearer ${TOKEN}` } });
      assert.ok(!(await response.text()).includes(SECRET), adapter.name);
    }
  });

  it("random wrong tokens never unlock (fast-check)", async () => {
    const token = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/="), minLength: 1, maxLength: 200 }).filter((value) => value !== TOKEN);
    await fc.assert(
      fc.asyncProperty(token, async (value) => {
        assert.equal(await unlocks(`Bearer ${value}`), false, value);
      }),
      { numRuns: 100 },
    );
  });

  it("with no token configured (and none in the environment), no Authorization unlocks anything", async () => {
    const saved = process.env.HEALTH_CHECK_TOKEN;
    delete process.env.HEALTH_CHECK_TOKEN;
    try {
      const open = quietConfig({ subsets: { s: [leaky] }, cacheTtlMs: 0 });
      for (const adapter of ADAPTERS) {
        for (const authorization of ["Bearer ", "Bearer undefined", "Bearer null", `Bearer ${TOKEN}`, "Bearer  "]) {
          const response = await adapter.serve(open, "/healthcheck/s?format=json", { headers: { authorization } });
          assert.ok(!(await response.text()).includes(SECRET), `${adapter.name} ${authorization}`);
        }
      }
    } finally {
      if (saved !== undefined) process.env.HEALTH_CHECK_TOKEN = saved;
    }
  });
});
