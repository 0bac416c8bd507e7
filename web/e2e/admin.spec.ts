import { expect, test } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { screenshot, uniqueEmail } from "./helpers";

const PASSWORD = "correct horse battery";

/** `t21 …` against the running e2e server's database, as whoever runs the install would. */
function t21(args: string[]): string {
  const file = path.resolve(import.meta.dirname, "..", "test-results", "e2e-server", "current.json");
  const current = JSON.parse(readFileSync(file, "utf8")) as { T21_DATA_DIR: string; T21_DATABASE_URL: string | null; python: string };
  const env: NodeJS.ProcessEnv = { ...process.env, T21_DATA_DIR: current.T21_DATA_DIR };
  if (current.T21_DATABASE_URL) env.T21_DATABASE_URL = current.T21_DATABASE_URL;
  else delete env.T21_DATABASE_URL;
  return execFileSync(current.python, ["-m", "t21.cli", ...args], { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** The instance admin (made with `t21 create-user --admin`) lists the users and disables one. */
test("the admin page lists users, finds one and disables them", async ({ page, request }) => {
  const adminEmail = uniqueEmail("admin");
  t21(["create-user", "--email", adminEmail, "--name", "Robin Admin", "--password", PASSWORD, "--admin"]);
  const victimEmail = uniqueEmail("disable-me");
  const signup = await request.post("/api/v1/auth/register", { data: { email: victimEmail, password: PASSWORD, name: "Dana Disabled" } });
  expect(signup.ok()).toBe(true);
  const victim = (await signup.json()) as { tokens: { accessToken: string } };

  await page.goto("/login");
  await page.getByLabel("Email").fill(adminEmail);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).click();
  await expect(page.getByRole("heading", { name: "Admin", level: 1 })).toBeVisible();
  const table = page.getByRole("table", { name: "Users" });
  await expect(table).toContainText(adminEmail);
  await expect(table).toContainText(victimEmail);
  await screenshot(page, "admin-users");

  await page.getByLabel("Search users by email or name").fill("disable-me");
  await expect(page.getByTestId("admin-user-row")).toHaveCount(1);
  await page.getByRole("button", { name: `Disable ${victimEmail}` }).click();
  await expect(page.getByTestId("confirm-dialog")).toContainText("signed out everywhere");
  await screenshot(page, "admin-disable-confirm");
  await page.getByRole("button", { name: "Disable user" }).click();
  const row = page.getByTestId("admin-user-row");
  await expect(row).toContainText("Disabled");
  await expect(row.getByRole("button", { name: `Enable ${victimEmail}` })).toBeVisible();
  await screenshot(page, "admin-disabled");

  // Their token stops working at once, and they cannot sign in again.
  const me = await request.get("/api/v1/auth/me", { headers: { Authorization: `Bearer ${victim.tokens.accessToken}` } });
  expect(me.status()).toBe(403);
  const login = await request.post("/api/v1/auth/login", { data: { email: victimEmail, password: PASSWORD } });
  expect(login.status()).toBe(403);
  expect(((await login.json()) as { code: string }).code).toBe("account_disabled");
});

test("the Admin link is not in the nav of a person who is not an admin", async ({ page }) => {
  await page.goto("/signup");
  await page.getByLabel("Your name").fill("Pat");
  await page.getByLabel("Email").fill(uniqueEmail("not-admin"));
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Welcome, Pat" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" })).toHaveCount(0);
});
