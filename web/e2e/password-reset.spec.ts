import { expect, test } from "@playwright/test";
import { screenshot, uniqueEmail } from "./helpers";
import { readEmail } from "./outbox";

/** Forgot password → the link in the outbox → a new password → sign in with it. */
test("forgot password, from the login page to signing in with the new password", async ({ page, request }) => {
  const email = uniqueEmail("reset");
  const registered = await request.post("/api/v1/auth/register", { data: { email, password: "the old passphrase", name: "Rosa" } });
  expect(registered.status()).toBe(201);

  await page.goto("/login");
  await page.getByRole("link", { name: "Forgot password?" }).click();
  await expect(page.getByRole("heading", { name: "Forgot your password?" })).toBeVisible();
  await page.getByLabel("Email").fill(email);
  await screenshot(page, "forgot-password");
  await page.getByRole("button", { name: "Send the link" }).click();
  await expect(page.getByTestId("reset-requested")).toContainText("If an account uses this address");
  await screenshot(page, "forgot-password-sent");

  const text = await readEmail(email, "Reset your T21 password");
  const link = /(http\S+\/reset-password\?token=[\w-]+)/.exec(text)?.[1];
  expect(link, text).toBeTruthy();

  await page.goto(link ?? "");
  await expect(page.getByRole("heading", { name: "Choose a new password" })).toBeVisible();
  await page.getByLabel("New password", { exact: true }).fill("the new passphrase");
  await page.getByLabel("Repeat the new password").fill("the new passphrase");
  await screenshot(page, "reset-password");
  await page.getByRole("button", { name: "Set the new password" }).click();
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByText("Your password was changed")).toBeVisible();
  await screenshot(page, "login-after-reset");

  // The old password is refused, the new one signs in.
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("the old passphrase");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  await page.getByLabel("Password").fill("the new passphrase");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: /Welcome, Rosa/ })).toBeVisible();

  // The link was single-use.
  await page.goto(link ?? "");
  await page.getByLabel("New password", { exact: true }).fill("a third passphrase");
  await page.getByLabel("Repeat the new password").fill("a third passphrase");
  await page.getByRole("button", { name: "Set the new password" }).click();
  await expect(page.getByRole("alert")).toContainText("already used");
});
