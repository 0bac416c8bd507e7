import { expect, type APIRequestContext, type Page } from "@playwright/test";
import { rmSync } from "node:fs";
import path from "node:path";

const SCREENSHOT_DIR = path.resolve(import.meta.dirname, "..", "test-results", "screenshots");
// One run's screens only: numbering changes as steps are added or skipped.
rmSync(SCREENSHOT_DIR, { recursive: true, force: true });
let shotNumber = 0;

/** A full-page screenshot per screen, numbered in journey order, for people to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  shotNumber += 1;
  const file = path.join(SCREENSHOT_DIR, `${String(shotNumber).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
}

/** Fails if the page is wider than the viewport (the thing that breaks phones first). */
export async function expectNoHorizontalOverflow(page: Page): Promise<void> {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow, "page scrolls sideways").toBeLessThanOrEqual(0);
}

export interface ApiSurface {
  has(method: string, path: string): boolean;
}

/** The server's live OpenAPI document: later journey steps run only once their endpoints exist. */
export async function apiSurface(request: APIRequestContext): Promise<ApiSurface> {
  const response = await request.get("/api/v1/openapi.json");
  expect(response.ok()).toBe(true);
  const doc = (await response.json()) as { paths: Record<string, Record<string, unknown>> };
  return {
    has: (method, p) => Boolean(doc.paths[p]?.[method.toLowerCase()]),
  };
}

export function uniqueEmail(label: string): string {
  return `${label}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}
