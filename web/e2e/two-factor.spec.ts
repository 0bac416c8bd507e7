import { expect, test } from "@playwright/test";
import { screenshot, uniqueEmail } from "./helpers";
import { readEmail } from "./outbox";
import { totp } from "./totp";

/**
 * Two-factor on (QR code in Settings) → forgot password → the link in the outbox → a new password →
 * sign in with the password and a code from the "app" (RFC 6238, computed here).
 */
test("forgot password, then signing in with the new password and a two-factor code", async ({ page, request }) => {
  const email = uniqueEmail("twofactor");
  const registered = await request.post("/api/v1/auth/register", { data: { email, password: "the old passphrase", name: "Tess" } });
  expect(registered.status()).toBe(201);

  // Sign in and turn two-factor on in Settings.
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("the old passphrase");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: /Welcome, Tess/ })).toBeVisible();
  await page.goto("/settings");
  const section = page.getByRole("region", { name: "Two-factor authentication" });
  await section.getByRole("button", { name: "Turn on two-factor" }).click();
  await expect(section.getByTestId("two-factor-qr")).toBeVisible();
  const secret = (await section.getByTestId("two-factor-secret").textContent()) ?? "";
  expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
  await section.scrollIntoViewIfNeeded();
  await screenshot(page, "two-factor-qr");
  // A wrong code is refused with a clear message; the right one turns it on.
  const wrong = totp(secret) === "000000" ? "111111" : "000000";
  await section.getByLabel(/Enter the 6-digit code/).fill(wrong);
  await section.getByRole("button", { name: "Confirm and turn on" }).click();
  await expect(section.getByRole("alert")).toContainText("not valid");
  await section.getByLabel(/Enter the 6-digit code/).fill(totp(secret));
  await section.getByRole("button", { name: "Confirm and turn on" }).click();
  const codes = section.getByTestId("recovery-codes").getByRole("listitem");
  await expect(codes).toHaveCount(10);
  await expect(section.getByRole("button", { name: "Download" })).toBeVisible();
  await expect(section.getByText("recovery codes left")).toContainText("10 recovery codes left");
  await screenshot(page, "two-factor-recovery-codes");
  await section.getByRole("button", { name: "I saved them" }).click();
  await expect(section.getByTestId("recovery-codes")).toHaveCount(0);

  // Forgot password (signed out: the reset ends every session anyway).
  await page.context().clearCookies();
  await page.evaluate(() => window.localStorage.clear());
  await page.goto("/forgot-password");
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Send the link" }).click();
  await expect(page.getByTestId("reset-requested")).toBeVisible();
  const text = await readEmail(email, "Reset your T21 password");
  const link = /(http\S+\/reset-password\?token=[\w-]+)/.exec(text)?.[1];
  expect(link, text).toBeTruthy();
  await page.goto(link ?? "");
  await page.getByLabel("New password", { exact: true }).fill("the new passphrase");
  await page.getByLabel("Repeat the new password").fill("the new passphrase");
  await page.getByRole("button", { name: "Set the new password" }).click();
  await expect(page.getByText("Your password was changed")).toBeVisible();

  // The new password, then the second step.
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("the new passphrase");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Two-factor authentication" })).toBeVisible();
  // The code that turned it on is spent; a wrong one is refused.
  await page.getByLabel("6-digit code").fill(wrong);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("alert")).toContainText("not valid");
  // The next step's code (the current one may be the one already used).
  await page.getByLabel("6-digit code").fill(totp(secret, 1));
  await screenshot(page, "two-factor-login");
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { name: /Welcome, Tess/ })).toBeVisible();
});
