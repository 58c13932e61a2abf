/**
 * The HTML status page as a person sees it: handleHealthRequest behind a plain
 * node:http server, opened in headless Chromium (playwright-core, Debian's
 * /usr/bin/chromium) at a phone width and a desktop width. Asserts on the
 * rendered DOM and its visible text, and saves full-page screenshots to
 * test/e2e/artifacts/ for a human to look at.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page, type Response as PageResponse } from "playwright-core";
import { defineCheck, defineHealthConfig, handleHealthRequest, ServiceUnavailable, ServiceWarning } from "../../src/index.ts";
import { MARKS } from "../../src/core/render.ts";
import { freePort } from "../helpers/net.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"];
const ARTIFACTS = fileURLToPath(new URL("./artifacts/", import.meta.url));
const PHONE = { width: 375, height: 667 };
const DESKTOP = { width: 1280, height: 800 };

/** What a realistic layout breaker looks like: a token or URL with no place to wrap. */
const LONG_WORD = "x".repeat(200);
const LONG_NAME = `payments-gateway-eu-west-1.${"internal".repeat(12)}.example.com`;
/** The longest subset name there can be is one path segment with no place to wrap either. */
const LONG_SUBSET = "integrations_with_third_party_payment_providers_and_warehouses_x"; // 64, the longest allowed

const config = defineHealthConfig({
  subsets: {
    readiness: [
      defineCheck({ name: "database", check: () => ({ output: "connected (primary)" }) }),
      defineCheck({ name: "cache", check: () => {} }),
      defineCheck({ name: "search", critical: false, check: () => ({ output: "3 nodes" }) }),
    ],
    integrations: [
      defineCheck({ name: "database", check: () => { throw new ServiceUnavailable("db down"); } }),
      defineCheck({ name: "payments-api", check: () => { throw new Error("password=hunter2 host=10.0.0.1"); } }),
      defineCheck({ name: "disk", critical: false, check: () => { throw new ServiceWarning("disk 93% used (max 90%)"); } }),
    ],
    "long-words": [
      defineCheck({ name: LONG_NAME, check: () => ({ output: `token ${LONG_WORD}` }) }),
      defineCheck({ name: `queue-${LONG_WORD}`, critical: false, check: () => { throw new ServiceUnavailable(`GET https://status.example.com/${LONG_WORD} refused`); } }),
    ],
    [LONG_SUBSET]: [defineCheck({ name: "database", check: () => {} })],
  },
  logger: false,
});

/** One rendered row, read from the DOM the way a person reads it. */
interface Row {
  mark: string;
  label: string | null;
  name: string;
  note: string;
  message: string;
  time: string;
}

describe("HTML status page in Chromium", () => {
  let server: Server;
  let origin: string;
  let profile: string;
  let context: BrowserContext;
  /** The Accept header of each request the server saw, by path. */
  const accepts = new Map<string, string | undefined>();

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium); CI has it`);
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    server = createServer((request, response) => {
      accepts.set(new URL(request.url ?? "/", origin).pathname, request.headers.accept);
      serveHealth(request, response, origin).catch((error: unknown) => {
        response.writeHead(500, { "content-type": "text/plain" }).end(`test server: ${String(error)}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    await mkdir(ARTIFACTS, { recursive: true });
    // A fresh profile, so no cache, cookie or setting from an earlier run shapes the page.
    profile = await mkdtemp(join(tmpdir(), "probekit-chromium-"));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, viewport: PHONE });
    context.setDefaultTimeout(10_000);
  });

  after(async () => {
    await context?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  /** Opens a subset's page at a width, as a person would: a plain navigation, the browser's own Accept header. */
  async function visit(subset: string, viewport: { width: number; height: number }): Promise<{ page: Page; response: PageResponse }> {
    const page = await context.newPage();
    await page.setViewportSize(viewport);
    const response = await page.goto(`${origin}/healthcheck/${subset}`);
    assert.ok(response, `no response for ${subset}`);
    return { page, response };
  }

  it("readiness: 200 and a passing page with one row per check", async () => {
    const { page, response } = await visit("readiness", PHONE);
    try {
      assert.match(accepts.get("/healthcheck/readiness") ?? "", /^text\/html,/, "Chromium's navigation Accept header");
      assert.equal(response.status(), 200);
      assert.equal(response.headers()["content-type"], "text/html; charset=utf-8");
      assert.equal(await page.title(), "readiness: passing");
      assert.equal(await page.locator("h1").innerText(), `${MARKS.pass.mark} readiness: passing`);
      assert.match(await page.locator("main > p").innerText(), /^3 checks · \d{4}-\d\d-\d\dT/);
      assertRows(await rowsOf(page), [
        { mark: MARKS.pass.mark, label: MARKS.pass.label, name: "database", note: "", message: "connected (primary)" },
        { mark: MARKS.pass.mark, label: MARKS.pass.label, name: "cache", note: "", message: "working" },
        { mark: MARKS.pass.mark, label: MARKS.pass.label, name: "search", note: "non-critical", message: "3 nodes" },
      ]);
    } finally {
      await page.close();
    }
  });

  it("integrations: 500 and a failing page with safe messages, never the raw error", async () => {
    const { page, response } = await visit("integrations", DESKTOP);
    try {
      assert.equal(response.status(), 500);
      assert.equal(await page.title(), "integrations: failing");
      assert.equal(await page.locator("h1").innerText(), `${MARKS.fail.mark} integrations: failing`);
      assertRows(await rowsOf(page), [
        { mark: MARKS.fail.mark, label: MARKS.fail.label, name: "database", note: "", message: "unavailable: db down" },
        { mark: MARKS.fail.mark, label: MARKS.fail.label, name: "payments-api", note: "", message: "unavailable: unexpected error" },
        { mark: MARKS.warn.mark, label: MARKS.warn.label, name: "disk", note: "non-critical", message: "warning: disk 93% used (max 90%)" },
      ]);
      assert.equal(await page.getByRole("img", { name: MARKS.fail.label }).count(), 2, "marks a screen reader names failing");
      const text = await page.locator("html").innerText();
      const html = await page.content();
      for (const secret of ["hunter2", "10.0.0.1", "password"]) {
        assert.ok(!text.includes(secret), `visible text shows ${secret}:\n${text}`);
        assert.ok(!html.includes(secret), `HTML contains ${secret}`);
      }
    } finally {
      await page.close();
    }
  });

  for (const viewport of [PHONE, DESKTOP]) {
    it(`${viewport.width} px: no horizontal scroll, long unbroken words included; screenshots`, async () => {
      for (const subset of ["readiness", "integrations", "long-words", LONG_SUBSET]) {
        const { page, response } = await visit(subset, viewport);
        try {
          // long-words only fails a non-critical check: a warning, still 200.
          assert.equal(response.status(), subset === "integrations" ? 500 : 200, subset);
          const expectedRows = { "long-words": 2, [LONG_SUBSET]: 1 }[subset] ?? 3;
          assert.equal(await page.locator("main li").count(), expectedRows, subset);
          const widths = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
          assert.equal(widths.innerWidth, viewport.width, subset);
          assert.ok(widths.scrollWidth <= widths.innerWidth, `${subset} at ${viewport.width} px scrolls sideways: scrollWidth ${widths.scrollWidth} > innerWidth ${widths.innerWidth}`);
          if (subset === "long-words") {
            // The long words are on the page, wrapped, not cut off or hidden.
            const rows = await rowsOf(page);
            assert.equal(rows[0]?.name, LONG_NAME);
            assert.equal(rows[0]?.message, `token ${LONG_WORD}`);
            assert.equal(rows[1]?.name, `queue-${LONG_WORD}`);
            assert.equal(rows[1]?.message, `unavailable: GET https://status.example.com/${LONG_WORD} refused`);
          }
          await assertTimeBesideName(page, subset);
          const file = subset === LONG_SUBSET ? "long-subset-name" : subset;
          await page.screenshot({ path: join(ARTIFACTS, `${file}-${viewport.width}.png`), fullPage: true });
        } finally {
          await page.close();
        }
      }
    });
  }
});

/** node:http in front of the Fetch handler, as a framework-less Node server mounts it. */
async function serveHealth(request: IncomingMessage, response: ServerResponse, origin: string): Promise<void> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, one);
  }
  const answer = await handleHealthRequest(new Request(new URL(request.url ?? "/", origin), { method: request.method, headers }), config);
  response.writeHead(answer.status, Object.fromEntries(answer.headers));
  response.end(Buffer.from(await answer.arrayBuffer()));
}

async function rowsOf(page: Page): Promise<Row[]> {
  const rows: Row[] = [];
  for (const row of await page.locator("main li").all()) {
    assert.ok(await row.isVisible(), "every row is visible");
    const note = row.locator(".note");
    rows.push({
      mark: await row.locator(".mark").innerText(),
      label: await row.locator(".mark").getAttribute("aria-label"),
      // The name cell holds the note too; a person reads them apart.
      name: (await row.locator(".name").innerText()).replace(/\s*non-critical$/, ""),
      note: (await note.count()) === 0 ? "" : await note.innerText(),
      message: await row.locator(".message").innerText(),
      time: await row.locator(".time").innerText(),
    });
  }
  return rows;
}

function assertRows(rows: Row[], expected: Omit<Row, "time">[]): void {
  assert.deepEqual(
    rows.map(({ time: _time, ...rest }) => rest),
    expected,
  );
  for (const row of rows) assert.match(row.time, /^\d+(\.\d+)? (ms|s)$/, `time taken of ${row.name}`);
}

/** Each row's time taken sits on the name's line, right of it (not wrapped under the mark). */
async function assertTimeBesideName(page: Page, subset: string): Promise<void> {
  for (const row of await page.locator("main li").all()) {
    const name = await row.locator(".name").boundingBox();
    const time = await row.locator(".time").boundingBox();
    assert.ok(name && time, `${subset}: a row without a name or time box`);
    assert.ok(time.x >= name.x + name.width, `${subset}: the time (x=${time.x}) is not right of the name (x=${name.x}, width ${name.width})`);
    assert.ok(Math.abs(time.y - name.y) < name.height, `${subset}: the time (y=${time.y}) is not on the name's line (y=${name.y})`);
  }
}
