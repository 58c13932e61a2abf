import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { negotiateFormat } from "../../src/index.ts";

const formatOf = (accept: string | null, format: string | null = null) => {
  const result = negotiateFormat(format, accept);
  return "format" in result ? result.format : result.error;
};

describe("negotiateFormat", () => {
  it("?format=json wins over Accept, and ?format=html forces HTML", () => {
    assert.equal(formatOf("text/html", "json"), "json");
    assert.equal(formatOf("image/png", "json"), "json");
    assert.equal(formatOf("application/json", "html"), "html");
    assert.equal(formatOf(null, "JSON"), "json");
    assert.equal(formatOf("application/health+json", "json"), "health+json");
    assert.equal(formatOf("application/health+json;q=0, */*", "json"), "json");
  });

  it("an unknown ?format= is a 400, not a guess", () => {
    assert.equal(formatOf(null, "xml"), 400);
    assert.equal(formatOf(null, ""), 400);
  });

  it("maps browser-ish types to HTML", () => {
    for (const accept of ["text/html", "application/xhtml+xml", "text/*", "*/*", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"]) {
      assert.equal(formatOf(accept), "html", accept);
    }
  });

  it("maps JSON types to JSON, and health+json only when named", () => {
    assert.equal(formatOf("application/json"), "json");
    assert.equal(formatOf("application/*"), "json");
    assert.equal(formatOf("application/health+json"), "health+json");
    assert.equal(formatOf("application/health+json, application/json"), "health+json");
    assert.equal(formatOf("application/json, application/health+json"), "json");
  });

  it("no Accept, an empty one, or only empty elements mean anything: HTML", () => {
    assert.equal(formatOf(null), "html");
    assert.equal(formatOf(""), "html");
    assert.equal(formatOf(" , ,"), "html");
  });

  it("honours q-values and specificity", () => {
    assert.equal(formatOf("text/html;q=0.5, application/json"), "json");
    assert.equal(formatOf("text/html;q=0.9, application/json;q=0.8"), "html");
    assert.equal(formatOf("application/json;q=0.1, */*;q=0.5"), "html");
    assert.equal(formatOf("*/*;q=0.5, text/html;q=0"), "json", "text/html refused explicitly");
    assert.equal(formatOf("text/*;q=0, */*"), "json");
    assert.equal(formatOf("TEXT/HTML"), "html");
    assert.equal(formatOf('application/json; charset="utf-8"; q=1'), "json");
    assert.equal(formatOf("text/html;level=1;q=0.7, application/json;q=0.3"), "html");
  });

  it("ties go to the range listed first, then to HTML", () => {
    assert.equal(formatOf("application/json, text/html"), "json");
    assert.equal(formatOf("text/html, application/json"), "html");
  });

  it("406 when nothing offered is acceptable", () => {
    assert.equal(formatOf("image/png"), 406);
    assert.equal(formatOf("application/xml"), 406);
    assert.equal(formatOf("text/plain"), 406);
    assert.equal(formatOf("*/*;q=0"), 406);
    assert.equal(formatOf("text/html;q=0, application/*;q=0"), 406);
  });

  it("treats a malformed Accept as */*, never as an error", () => {
    for (const accept of ["garbage", "text/", "/json", "text/html;q=2", "text/html;q=abc", "text/html;=", "*/html", "text/html;q=0.12345", "💥/💥", "a".repeat(5000), "text/html;;", "application/json;q"]) {
      assert.equal(formatOf(accept), "html", JSON.stringify(accept.slice(0, 30)));
    }
  });
});
