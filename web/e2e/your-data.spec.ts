import { expect, test } from "@playwright/test";
import { screenshot, uniqueEmail } from "./helpers";
import { readEmail } from "./outbox";

/** Settings → Your data: the export is emailed as a link; deleting the account signs out for good. */
test("export my data, then delete my account", async ({ page, request }) => {
  const email = uniqueEmail("your-data");
  await page.goto("/signup");
  await page.getByLabel("Your name").fill("Dana");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Welcome, Dana" })).toBeVisible();

  await page.goto("/settings");
  const section = page.getByRole("region", { name: "Your data" });
  await section.getByRole("button", { name: "Export my data" }).click();
  await expect(section.getByRole("status")).toContainText("We will email you a download link");
  const text = await readEmail(email, "Your T21 data export is ready");
  const link = /(http\S+\/api\/v1\/me\/export\/[\w-]+\?signature=[\w.]+)/.exec(text)?.[1];
  expect(link, text).toBeTruthy();
  const download = await request.get(link ?? "");
  expect(download.status()).toBe(200);
  expect(download.headers()["content-type"]).toBe("application/zip");

  await section.getByLabel("Your password").fill("not my password");
  await section.getByRole("button", { name: "Delete my account" }).click();
  await page.getByTestId("confirm-dialog").getByRole("button", { name: "Delete my account" }).click();
  await expect(section.getByRole("alert")).toContainText("The password is wrong");
  await section.scrollIntoViewIfNeeded();
  await screenshot(page, "your-data");

  await section.getByLabel("Your password").fill("correct horse battery");
  await section.getByRole("button", { name: "Delete my account" }).click();
  await expect(page.getByTestId("confirm-dialog")).toContainText("This cannot be undone");
  await screenshot(page, "your-data-delete-confirm");
  await page.getByTestId("confirm-dialog").getByRole("button", { name: "Delete my account" }).click();
  await expect(page).toHaveURL(/\/login/);
  const login = await request.post("/api/v1/auth/login", { data: { email, password: "correct horse battery" } });
  expect(login.status()).toBe(401);
});
