import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

/** The running e2e server's data (written by start-server.mjs). */
function serverEnv(): { env: NodeJS.ProcessEnv; python: string } {
  const file = path.resolve(import.meta.dirname, "..", "test-results", "e2e-server", "current.json");
  const current = JSON.parse(readFileSync(file, "utf8")) as { T21_DATA_DIR: string; T21_DATABASE_URL: string | null; python: string };
  const env: NodeJS.ProcessEnv = { ...process.env, T21_DATA_DIR: current.T21_DATA_DIR };
  if (current.T21_DATABASE_URL) env.T21_DATABASE_URL = current.T21_DATABASE_URL;
  else delete env.T21_DATABASE_URL;
  return { env, python: current.python };
}

function t21(args: string[]): string {
  const { env, python } = serverEnv();
  return execFileSync(python, ["-m", "t21.cli", ...args], { env, encoding: "utf8" });
}

/**
 * The text of the newest email to `to` whose subject is `subject`, read with `t21 outbox` as an
 * operator would; waits for the worker to write it.
 */
export async function readEmail(to: string, subject: string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = t21(["outbox", "--limit", "50"])
      .split("\n")
      .find((row) => row.includes(to) && row.includes(subject));
    if (line) return t21(["outbox", "--show", line.trim().split(/\s+/)[0] ?? ""]);
    if (Date.now() > deadline) throw new Error(`no email "${subject}" to ${to} in the outbox`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
