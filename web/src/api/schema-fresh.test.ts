// @vitest-environment node
import { readFileSync } from "node:fs";
import openapiTS, { astToString, COMMENT_HEADER } from "openapi-typescript";
import { describe, expect, it } from "vitest";

/**
 * The committed client types must be exactly what openapi-typescript makes of the committed spec.
 * (The Python test tests/test_web_client_fresh.py checks the other half: the committed spec is the
 * server's live spec.) Fix a failure with `make openapi-client`.
 */
describe("generated API types", () => {
  it("src/api/schema.d.ts is up to date with openapi.json", async () => {
    const spec = new URL("../../openapi.json", import.meta.url);
    const expected = `${COMMENT_HEADER}${astToString(await openapiTS(spec, { silent: true }))}`;
    const committed = readFileSync(new URL("./schema.d.ts", import.meta.url), "utf8");
    expect(committed === expected, "schema.d.ts is stale: run `npm run generate:api` (or `make openapi-client`)").toBe(true);
  }, 30_000);
});
