// Starts a fresh T21 server for the browser tests and stops it (and its database) afterwards.
//
// - Data: a new T21_DATA_DIR under test-results/e2e-server/, so the embedded PostgreSQL (used when
//   T21_TEST_DATABASE_URL is unset) starts empty every run.
// - T21_TEST_DATABASE_URL (e.g. postgresql://user:pw@host/postgres) set: a new database named
//   t21_e2e_<time> is created there with the `pg` package (no psql needed) and dropped at exit.
// - T21_DEFAULT_TIER=BUSINESS so paid-only screens (API keys) can be walked; T21_BCRYPT_ROUNDS=4
//   keeps sign-up fast.
// - Stripe: `t21 emulate` runs the emulators; we take only its T21_STRIPE_* settings (its Stripe
//   sends signed webhooks to this server). Social networks stay on T21's built-in sandbox and AI on
//   its built-in emulator, which is what a fresh self-hosted install shows.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const port = process.env.T21_E2E_PORT ?? "8765";
const stamp = `${Date.now()}_${process.pid}`;
const dataDir = path.join(webDir, "test-results", "e2e-server", stamp);
mkdirSync(dataDir, { recursive: true });

/** The same server URL with another database name (also for socket URLs like `postgresql://u:@/db?host=/run`). */
function withDatabase(url, database) {
  return url.replace(/^(postgres(?:ql)?:\/\/[^/?]*\/)([^?]*)/, `$1${database}`);
}

async function createDatabase(serverUrl) {
  const name = `t21_e2e_${stamp}`;
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  await client.query(`CREATE DATABASE "${name}"`);
  await client.end();
  return { name, url: withDatabase(serverUrl, name) };
}

async function dropDatabase(serverUrl, name) {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await client.end();
}

const testServerUrl = process.env.T21_TEST_DATABASE_URL;
const database = testServerUrl ? await createDatabase(testServerUrl) : null;

const python = process.env.T21_PYTHON ?? path.join(webDir, "..", ".venv", "bin", "python");
const env = {
  ...process.env,
  T21_DATA_DIR: dataDir,
  T21_HOST: "127.0.0.1",
  T21_PORT: port,
  T21_PUBLIC_URL: `http://127.0.0.1:${port}`,
  T21_BCRYPT_ROUNDS: "4",
  T21_DEFAULT_TIER: process.env.T21_DEFAULT_TIER ?? "BUSINESS",
  T21_WEB_DIST_DIR: path.join(webDir, "dist"),
};
if (database) env.T21_DATABASE_URL = database.url;
else delete env.T21_DATABASE_URL;
// Where this run's data lives, for tests that read the server's outbox with `t21 outbox`
// (e2e/outbox.ts): the same T21_DATA_DIR and database as the server.
writeFileSync(
  path.join(webDir, "test-results", "e2e-server", "current.json"),
  JSON.stringify({ T21_DATA_DIR: dataDir, T21_DATABASE_URL: database?.url ?? null, python }),
);

/** Starts `t21 emulate` and resolves with the T21_STRIPE_* settings it prints. */
function startStripeEmulator() {
  const child = spawn(python, ["-m", "t21.cli", "emulate"], {
    env: { ...process.env, T21_DATA_DIR: path.join(dataDir, "emulators"), T21_PUBLIC_URL: `http://127.0.0.1:${port}` },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve) => {
    const settings = {};
    let buffer = "";
    const timer = setTimeout(() => resolve({ child, settings }), 60_000);
    child.stdout.on("data", (chunk) => {
      buffer += chunk.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        const match = /^(T21_STRIPE_[A-Z_]+)=(.*)$/.exec(line.trim());
        if (match) settings[match[1]] = match[2];
        // emulate prints this line last, after every setting.
        if (line.trim() === "T21_SANDBOX_ENABLED=false") {
          clearTimeout(timer);
          resolve({ child, settings });
        }
      }
    });
    child.on("exit", () => {
      clearTimeout(timer);
      resolve({ child: null, settings });
    });
  });
}

const emulators = process.env.T21_E2E_STRIPE === "0" ? { child: null, settings: {} } : await startStripeEmulator();
Object.assign(env, emulators.settings);

const server = spawn(python, ["-m", "t21.cli", "serve", "--host", "127.0.0.1", "--port", port], {
  env,
  stdio: "inherit",
});

/**
 * The embedded PostgreSQL outlives a killed T21 (it is its own process): stop it by the pid in its
 * postmaster.pid. SIGINT is PostgreSQL's "fast" shutdown.
 */
async function stopEmbeddedPostgres() {
  let pid = 0;
  try {
    pid = Number(readFileSync(path.join(dataDir, "pgdata", "postmaster.pid"), "utf8").split("\n")[0]);
    if (pid > 0) process.kill(pid, "SIGINT");
  } catch {
    return; // No embedded server (external database) or already stopped.
  }
  for (let waited = 0; waited < 10_000; waited += 200) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Each run's data (an embedded cluster is ~40 MB) goes unless T21_E2E_KEEP_DATA=1 asks to keep it. */
function removeData() {
  if (process.env.T21_E2E_KEEP_DATA !== "1") rmSync(dataDir, { recursive: true, force: true });
}

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  server.kill("SIGTERM");
  emulators.child?.kill("SIGTERM");
  await new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.kill("SIGKILL");
      resolve();
    }, 10_000);
    server.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  await stopEmbeddedPostgres();
  removeData();
  if (database) await dropDatabase(testServerUrl, database.name).catch(() => undefined);
  process.exit(code);
}

process.on("SIGTERM", () => void stop(0));
process.on("SIGINT", () => void stop(0));
server.on("exit", (code) => {
  if (!stopping) {
    emulators.child?.kill("SIGTERM");
    void stopEmbeddedPostgres().then(() => process.exit(code ?? 1));
  }
});
