import { defineConfig } from "@playwright/test";

/**
 * Browser tests against a REAL T21 server (API + built web app + in-process worker + sandbox
 * networks), started fresh for every run by e2e/start-server.mjs. Chromium is Debian's
 * (/usr/bin/chromium, or CHROMIUM_PATH); Playwright never downloads a browser here.
 *
 * The port is chosen once in the main process and handed to workers through the environment
 * (workers re-read this file but inherit process.env).
 */
process.env.T21_E2E_PORT ??= String(20000 + Math.floor(Math.random() * 20000));
const port = Number(process.env.T21_E2E_PORT);
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results/playwright",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL,
    browserName: "chromium",
    headless: true,
    viewport: { width: 1280, height: 800 },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      // Without the background-networking flags Chromium's own connections are refused in CI
      // sandboxes and it stalls; the others keep it quiet and reproducible.
      args: [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: {
    command: "node e2e/start-server.mjs",
    url: `${baseURL}/readyz`,
    timeout: 180_000,
    reuseExistingServer: false,
    // SIGTERM (not Playwright's default SIGKILL) so start-server.mjs can stop T21, its embedded
    // PostgreSQL and the emulators, and drop the test database.
    gracefulShutdown: { signal: "SIGTERM", timeout: 20_000 },
    stdout: process.env.T21_E2E_SERVER_LOG ? "pipe" : "ignore",
    stderr: "pipe",
    env: { T21_E2E_PORT: String(port) },
  },
});
