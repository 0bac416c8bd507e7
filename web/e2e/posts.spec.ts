import { expect, test, type Page } from "@playwright/test";
import { apiSurface, screenshot, uniqueEmail, type ApiSurface } from "./helpers";

/**
 * A post's own page (/posts/{id}) and the composer's safety nets, in a browser against a real
 * T21 server: edit a scheduled post's text and time, refuse a past time beside the picker,
 * restore an autosaved draft after a reload, ask before leaving, publish now, cancel with a
 * confirmation, duplicate.
 */
test.describe.configure({ mode: "serial" });

let page: Page;
let api: ApiSurface;
const ZONE = "Europe/Paris";

function requireEndpoint(method: string, path: string) {
  test.skip(!api.has(method, path), `${method.toUpperCase()} ${path} is not in the server's API yet`);
}

/** "YYYY-MM-DDTHH:mm" in `timeZone`, `days` from today at `time`. */
function localAt(days: number, time: string, timeZone = ZONE): string {
  const day = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(Date.now() + days * 86_400_000));
  return `${day}T${time}`;
}

async function approveSandboxConsent(p: Page): Promise<void> {
  await p.waitForURL((url) => url.pathname.startsWith("/accounts") || url.pathname.startsWith("/sandbox"));
  if (new URL(p.url()).pathname.startsWith("/sandbox")) {
    const approve = p.getByRole("button", { name: /authorize|allow|approve|continue/i });
    if (await approve.count()) await approve.first().click();
    await p.waitForURL((url) => url.pathname.startsWith("/accounts"));
  }
}

/** Writes and schedules a post in the composer, then opens it from the posts list. Returns its id. */
async function scheduleAndOpen(text: string, at: string): Promise<string> {
  await page.getByRole("link", { name: "Compose" }).click();
  await page.getByLabel("Post text").fill(text);
  await page.getByLabel(/Publish at/).fill(at);
  await page.getByRole("button", { name: "Schedule", exact: true }).click();
  await expect(page.locator(".toast").getByText(/^Scheduled for/).last()).toBeVisible();
  await page.getByRole("link", { name: "Posts" }).click();
  const card = page.getByTestId("post-card").filter({ hasText: text });
  await card.getByRole("link", { name: "Edit" }).click();
  await expect(page).toHaveURL(/\/posts\/[0-9a-f-]{36}$/);
  await expect(page.getByRole("heading", { name: "Edit post" })).toBeVisible();
  return new URL(page.url()).pathname.split("/").pop()!;
}

test.beforeAll(async ({ browser, request }) => {
  api = await apiSurface(request);
  page = await browser.newPage();
});

test.afterAll(async () => {
  await page.close();
});

test("set up: a user, a brand in Paris time and a sandbox X account", async () => {
  requireEndpoint("get", "/api/v1/social-accounts/connect/{platform}");
  await page.goto("/signup");
  await page.getByLabel("Your name").fill("Mary Shelley");
  await page.getByLabel("Email").fill(uniqueEmail("mary"));
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: /Welcome, Mary/ })).toBeVisible();

  await page.goto("/brands/new");
  await page.getByLabel("Brand name").fill("Villa Diodati");
  const zone = page.getByRole("combobox", { name: "Time zone" });
  await zone.click();
  await zone.fill("paris");
  await expect(page.getByRole("option", { name: /Europe\/Paris/ })).toBeVisible();
  await zone.press("Enter");
  await page.getByRole("button", { name: "Create brand" }).click();
  await expect(page.getByRole("heading", { name: "Villa Diodati" })).toBeVisible();

  await page.getByRole("link", { name: "Social accounts" }).click();
  await page.getByRole("button", { name: /^Connect X/ }).click();
  await approveSandboxConsent(page);
  await expect(page.getByText("X account connected.")).toBeVisible();
});

test("edit a scheduled post's text and time of day on its own page", async () => {
  requireEndpoint("patch", "/api/v1/posts/{post_id}");
  const id = await scheduleAndOpen("Ghost story night", localAt(2, "09:00"));
  await expect(page.getByLabel("Post text")).toHaveValue("Ghost story night");
  await expect(page.getByLabel(/Publish at/)).toHaveValue(localAt(2, "09:00"));
  await screenshot(page, "post-edit-scheduled");

  // A past time is refused beside the picker, in plain words, not with the API's field names.
  await page.getByLabel(/Publish at/).fill(localAt(-1, "09:00"));
  await page.getByRole("button", { name: "Save changes" }).click();
  const error = page.getByTestId("schedule-error");
  await expect(error).toHaveText("That time has already passed. Pick a time in the future, or publish now.");
  await expect(page.getByLabel(/Publish at/)).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText(/scheduledFor/)).toHaveCount(0);
  await screenshot(page, "post-edit-past-time");

  await page.getByLabel("Post text").fill("Ghost story night, by candlelight 🕯️");
  await page.getByLabel(/Publish at/).fill(localAt(3, "21:30"));
  await expect(error).toHaveCount(0);
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.locator(".toast").getByText(/^Rescheduled for .*9:30/)).toBeVisible();

  // Saved in T21, not just on screen: a fresh load of the address shows the new text and time.
  await page.goto(`/posts/${id}`);
  await expect(page.getByLabel("Post text")).toHaveValue("Ghost story night, by candlelight 🕯️");
  await expect(page.getByLabel(/Publish at/)).toHaveValue(localAt(3, "21:30"));
  await expect(page.getByTestId("restored-draft")).toHaveCount(0);
  await screenshot(page, "post-edit-saved");
});

test("restore an autosaved draft after a reload, and ask before leaving", async () => {
  await page.getByRole("link", { name: "Compose" }).click();
  await page.getByLabel("Post text").fill("Frankenstein reading club — chapter 5 tonight");
  await page.getByRole("tab", { name: "X" }).click();
  await page.getByRole("button", { name: "+ Add to thread" }).click();
  await page.getByLabel("Thread post 2").fill("Bring a lantern");
  await page.getByRole("tab", { name: "All networks" }).click();
  await page.waitForTimeout(1_200); // the local copy is written a moment after typing stops

  // Reloading asks first (the browser's own prompt); the copy comes back either way.
  const prompt = new Promise<string>((resolve) =>
    page.once("dialog", (dialog) => {
      resolve(dialog.type());
      void dialog.accept();
    }),
  );
  await page.reload();
  expect(await prompt).toBe("beforeunload");
  await expect(page.getByTestId("restored-draft")).toContainText("Restored your unsaved draft");
  await expect(page.getByLabel("Post text")).toHaveValue("Frankenstein reading club — chapter 5 tonight");
  await page.getByRole("tab", { name: "X" }).click();
  await expect(page.getByLabel("Thread post 2")).toHaveValue("Bring a lantern");
  await page.getByRole("tab", { name: "All networks" }).click();
  await screenshot(page, "composer-restored-draft");

  // Leaving inside the app asks too; staying keeps everything.
  await page.getByRole("link", { name: "Posts" }).click();
  const leave = page.getByRole("dialog", { name: "Leave without saving?" });
  await expect(leave).toBeVisible();
  await screenshot(page, "composer-leave-prompt");
  await leave.getByRole("button", { name: "Stay and save" }).click();
  await expect(page).toHaveURL(/\/compose/);
  await expect(page.getByLabel("Post text")).toHaveValue("Frankenstein reading club — chapter 5 tonight");

  // Discard empties the composer and forgets the copy.
  await page.getByTestId("restored-draft").getByRole("button", { name: "Discard" }).click();
  await expect(page.getByLabel("Post text")).toHaveValue("");
  await page.waitForTimeout(1_200);
  await page.reload();
  await expect(page.getByLabel("Post text")).toHaveValue("");
  await expect(page.getByTestId("restored-draft")).toHaveCount(0);
});

test("saving while offline says so, and saves once back online", async () => {
  await page.getByLabel("Post text").fill("Written on the lake, offline");
  await page.context().setOffline(true);
  await page.getByRole("button", { name: "Save draft" }).click();
  await expect(page.getByTestId("composer-error")).toContainText("You are offline");
  await screenshot(page, "composer-offline");
  await page.context().setOffline(false);
  await expect(page.locator(".toast").getByText("Draft saved")).toBeVisible();
  await expect(page.getByLabel("Post text")).toHaveValue("");
});

test("cancel a post, with a confirmation, on its page", async () => {
  requireEndpoint("delete", "/api/v1/posts/{post_id}");
  await scheduleAndOpen("Boat trip to Chillon", localAt(4, "11:00"));
  await page.getByTestId("post-actions").getByRole("button", { name: "Cancel post" }).click();
  const confirm = page.getByRole("dialog", { name: "Cancel this post?" });
  await expect(confirm).toContainText("It will not be published");
  await screenshot(page, "post-cancel-confirm");
  // Keeping it changes nothing.
  await confirm.getByRole("button", { name: "Keep it" }).click();
  await expect(confirm).toBeHidden();
  await expect(page.getByTestId("post-page")).toHaveAttribute("data-status", "SCHEDULED");

  await page.getByTestId("post-actions").getByRole("button", { name: "Cancel post" }).click();
  await confirm.getByRole("button", { name: "Cancel post" }).click();
  await expect(page.locator(".toast").getByText(/^Post cancelled/)).toBeVisible();
  await expect(page.getByTestId("post-page")).toHaveAttribute("data-status", "CANCELLED");
  await expect(page.getByLabel("Post text")).toHaveCount(0); // read-only now
  await screenshot(page, "post-cancelled");
});

test("publish now from the post's page; it opens read-only with its link, then duplicates", async () => {
  requireEndpoint("patch", "/api/v1/posts/{post_id}");
  const id = await scheduleAndOpen("The year without a summer", localAt(5, "08:00"));
  await page.getByLabel("Post text").fill("The year without a summer ⛈️");
  await page.getByRole("button", { name: "Publish now" }).click();
  await expect(page.getByTestId("post-page")).toHaveAttribute("data-status", "PUBLISHED", { timeout: 30_000 });
  await expect(page.getByTestId("post-content")).toHaveText("The year without a summer ⛈️");
  const x = page.getByTestId("target-result").filter({ hasText: "X" });
  await expect(x.getByText("Published", { exact: true })).toBeVisible();
  await expect(x.getByText(/^Published .*\d{4}/)).toBeVisible();
  // The sandbox X gives no public address (platforms/x.py); a real one is linked as "View on X".
  const link = x.getByRole("link", { name: /View on X/ });
  if (await link.count()) await expect(link).toHaveAttribute("href", /^https:\/\//);
  await expect(page.getByRole("button", { name: "Cancel post" })).toHaveCount(0);
  await screenshot(page, "post-published-readonly");

  await page.getByTestId("post-actions").getByRole("button", { name: "Duplicate" }).click();
  await expect(page).not.toHaveURL(new RegExp(id));
  await expect(page.getByRole("heading", { name: "Draft" })).toBeVisible();
  await expect(page.getByLabel("Post text")).toHaveValue("The year without a summer ⛈️");
  await screenshot(page, "post-duplicated-draft");

  // The draft is completed and scheduled from its page.
  await page.getByLabel(/Publish at/).fill(localAt(6, "10:15"));
  await page.getByRole("button", { name: "Schedule", exact: true }).click();
  await expect(page.locator(".toast").getByText(/^Scheduled for .*10:15/)).toBeVisible();
  await expect(page.getByTestId("post-page")).toHaveAttribute("data-status", "SCHEDULED");
  await expect(page.getByRole("heading", { name: "Edit post" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Save changes" })).toBeVisible();
});

test("a notification opens its post", async () => {
  requireEndpoint("get", "/api/v1/notifications");
  await page.getByRole("link", { name: "Notifications" }).click();
  await page.getByRole("list", { name: "Notifications" }).getByRole("link", { name: "Published on X" }).first().click();
  await expect(page).toHaveURL(/\/posts\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId("post-page")).toHaveAttribute("data-status", "PUBLISHED");
});

test("the AI assistant rewrites the current text, counts credits and offers earlier drafts", async () => {
  requireEndpoint("post", "/api/v1/ai/rewrite");
  await page.getByRole("link", { name: "Compose" }).click();
  await expect(page.getByText(/Generate uses \d+ AI credits?; 3 variants use \d+ AI credits/)).toBeVisible();
  await page.getByLabel("Post text").fill("Join us at the villa on Friday evening for a candle-lit reading of ghost stories by the lake, with tea and cake.");
  await page.getByLabel("How").selectOption({ label: "Shorter" });
  await page.getByLabel("For", { exact: true }).selectOption({ label: "X" });
  await page.getByRole("button", { name: "Rewrite" }).click();
  const answer = page.getByTestId("ai-answer").first();
  await expect(answer).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId("ai-credits")).toHaveText(/(\d+ AI credits? left this month|Unlimited AI credits)/);
  const rewritten = (await answer.locator(".preview-text").textContent()) ?? "";
  expect(rewritten.trim()).not.toBe("");
  await answer.getByRole("button", { name: "Use this text" }).click();
  await expect(page.getByLabel("Post text")).toHaveValue(rewritten);

  await page.getByTestId("ai-history").locator("summary").click();
  const earlier = page.getByRole("list", { name: "Earlier drafts" }).getByRole("listitem");
  await expect(earlier.first()).toContainText("Rewrite for X");
  await screenshot(page, "composer-ai-rewrite-history");
  await page.getByRole("button", { name: "Save draft" }).click();
  await expect(page.locator(".toast").getByText("Draft saved").last()).toBeVisible();
});

test("a post's address survives a cold load, and an unknown one says so", async () => {
  await page.goto("/posts/00000000-0000-4000-8000-000000000000");
  await expect(page.getByRole("heading", { name: "Post not found" })).toBeVisible();
});
