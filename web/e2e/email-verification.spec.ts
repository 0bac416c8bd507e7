import { expect, test } from "@playwright/test";
import { screenshot, uniqueEmail } from "./helpers";
import { readEmail } from "./outbox";

/** Sign up → a banner until the address is confirmed → the link from the outbox → no banner. */
test("the sign-up email's link confirms the address and the banner goes", async ({ page }) => {
  const email = uniqueEmail("verify");
  await page.goto("/signup");
  await page.getByLabel("Your name").fill("Vera");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Welcome, Vera" })).toBeVisible();
  const banner = page.getByTestId("verify-email-banner");
  await expect(banner).toContainText(email);
  await screenshot(page, "verify-email-banner");
  // The sign-up email was just sent: asking again at once is held back, and says so.
  await banner.getByRole("button", { name: "Send the link again" }).click();
  await expect(banner).toContainText(/seconds/);

  const text = await readEmail(email, "Confirm your email address for T21");
  const link = /(http\S+\/verify-email\?token=[\w-]+)/.exec(text)?.[1];
  expect(link, text).toBeTruthy();
  await page.goto(link ?? "");
  await expect(page.getByTestId("email-verified")).toContainText(email);
  await screenshot(page, "verify-email-done");
  await page.getByRole("link", { name: "Go to T21" }).click();
  await expect(page.getByRole("heading", { name: "Welcome, Vera" })).toBeVisible();
  await expect(page.getByTestId("verify-email-banner")).toHaveCount(0);
});
