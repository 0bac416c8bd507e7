import { expect, test } from "@playwright/test";
import { screenshot, uniqueEmail } from "./helpers";

const PHONE_UA =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

/** Settings → Sessions lists where the person is signed in; signing out the phone ends it. */
test("the sessions section lists each sign-in and signs one out", async ({ page, request }) => {
  const email = uniqueEmail("sessions");
  await page.goto("/signup");
  await page.getByLabel("Your name").fill("Sasha");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Welcome, Sasha" })).toBeVisible();

  // The same person signs in on a phone.
  const phone = await request.post("/api/v1/auth/login", {
    data: { email, password: "correct horse battery" },
    headers: { "User-Agent": PHONE_UA },
  });
  expect(phone.ok()).toBe(true);
  const phoneTokens = (await phone.json()) as { tokens: { refreshToken: string } };

  await page.goto("/settings");
  const section = page.getByRole("region", { name: "Sessions" });
  const rows = section.getByTestId("session-row");
  await expect(rows).toHaveCount(2);
  await expect(section.getByText("This device")).toBeVisible();
  await expect(section).toContainText("Safari on iOS");
  await section.scrollIntoViewIfNeeded();
  await screenshot(page, "sessions");

  await section.getByRole("button", { name: "Sign out Safari on iOS" }).click();
  await expect(page.getByTestId("confirm-dialog")).toContainText("That browser or app is signed out");
  await screenshot(page, "sessions-confirm");
  await page.getByRole("button", { name: "Sign out session" }).click();
  await expect(rows).toHaveCount(1);
  await expect(section).not.toContainText("Safari on iOS");
  // The phone can no longer renew its sign-in.
  const refused = await request.post("/api/v1/auth/refresh", { data: { refreshToken: phoneTokens.tokens.refreshToken } });
  expect(refused.status()).toBe(401);
  await screenshot(page, "sessions-after");
});
