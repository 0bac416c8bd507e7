import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { apiSurface, expectNoHorizontalOverflow, screenshot, uniqueEmail } from "./helpers";

/**
 * The calendar as a planner uses it (issue 16): write a post from an empty week-view slot, drag a
 * post to another day and time, move one with the keyboard; day and list views, filters, and the
 * best-times heatmap's "no data". Its own user and brand (Europe/Paris), set up through the API.
 */
test.describe.configure({ mode: "serial" });

const ZONE = "Europe/Paris";
const user = { name: "Cal Planner", email: uniqueEmail("cal"), password: "calendar password 1" };
let page: Page;
let token = "";
let brandId = "";
/** Monday of next week, and the two days after it (all in the future, all in one week). */
let monday = "";
let tuesday = "";
let wednesday = "";

function addDays(day: string, days: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function todayIn(zone: string): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
}

/** "HH:mm" of an instant in the zone, and its day. */
function wallClock(iso: string, zone: string): { day: string; time: string } {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" })
      .formatToParts(new Date(iso))
      .map((x) => [x.type, x.value]),
  );
  return { day: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}` };
}

async function apiPost(request: APIRequestContext, path: string, body: unknown) {
  const response = await request.post(path, { data: body, headers: { Authorization: `Bearer ${token}` } });
  expect(response.ok(), `${path}: ${response.status()} ${await response.text()}`).toBe(true);
  return response.json();
}

async function postById(request: APIRequestContext, id: string) {
  const response = await request.get(`/api/v1/posts/${id}`, { headers: { Authorization: `Bearer ${token}` } });
  expect(response.ok()).toBe(true);
  return (await response.json()) as { scheduledFor: string; content: string };
}

test.beforeAll(async ({ browser, request }) => {
  const api = await apiSurface(request);
  test.skip(!api.has("patch", "/api/v1/posts/{post_id}"), "the server cannot reschedule posts yet");
  const today = todayIn(ZONE);
  const weekday = (new Date(`${today}T00:00:00Z`).getUTCDay() + 6) % 7;
  monday = addDays(today, 7 - weekday);
  tuesday = addDays(monday, 1);
  wednesday = addDays(monday, 2);

  const registered = await request.post("/api/v1/auth/register", { data: user });
  expect(registered.status()).toBe(201);
  token = (await registered.json()).tokens.accessToken;
  brandId = (await apiPost(request, "/api/v1/brands", { name: "Calendar Café", timeZone: ZONE, language: "en" })).id;

  page = await browser.newPage();
  await page.goto("/login");
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: /sign in|log in/i }).click();
  await expect(page.getByRole("link", { name: "Calendar" })).toBeVisible();
});

test.afterAll(async () => {
  await page?.close();
});

test("connect an X sandbox account and plan a post through the API", async ({ request }) => {
  await page.getByRole("link", { name: "Social accounts" }).click();
  await page.getByRole("button", { name: /^Connect X/ }).click();
  await page.waitForURL((url) => url.pathname.startsWith("/accounts") || url.pathname.startsWith("/sandbox"));
  if (new URL(page.url()).pathname.startsWith("/sandbox")) {
    const approve = page.getByRole("button", { name: /authorize|allow|approve|continue/i });
    if (await approve.count()) await approve.first().click();
    await page.waitForURL((url) => url.pathname.startsWith("/accounts"));
  }
  await expect(page.getByText("X account connected.")).toBeVisible();
  await apiPost(request, "/api/v1/posts", { brandId, content: "Monday espresso tasting", platforms: ["x"], scheduledFor: `${monday}T10:00:00`, timeZone: ZONE });
});

test("week view: click an empty slot to write a post at that time", async ({ request }) => {
  await page.goto(`/calendar?view=week&date=${monday}`);
  const column = page.locator(`.tg-col[data-day="${monday}"]`);
  await expect(column.locator(".cal-item")).toHaveCount(1);
  await expect(column.locator(".cal-item")).toHaveAttribute("data-time", "10:00");
  await screenshot(page, "calendar-week-before");
  // The 14:00 slot, clicked in its top quarter: 14:00.
  await column.locator('.tg-slot[data-hour="14"]').click({ position: { x: 30, y: 4 } });
  await expect(page).toHaveURL(/\/compose\?brandId=.+&at=/);
  await expect(page.getByLabel(/Publish at/)).toHaveValue(`${monday}T14:00`);
  await page.getByLabel("Post text").fill("Afternoon cold brew flight");
  await screenshot(page, "composer-from-slot");
  await page.getByRole("button", { name: "Schedule", exact: true }).click();
  await expect(page.getByText(/Scheduled for/).first()).toBeVisible();

  await page.goto(`/calendar?view=week&date=${monday}`);
  const created = column.locator(".cal-item", { hasText: "Afternoon cold brew flight" });
  await expect(created).toHaveAttribute("data-time", "14:00");
  const id = await created.getAttribute("data-post-id");
  const stored = await postById(request, id!);
  expect(wallClock(stored.scheduledFor, ZONE)).toEqual({ day: monday, time: "14:00" });
});

test("week view: drag a post to another day and time (15-minute steps)", async ({ request }) => {
  const item = page.locator(`.tg-col[data-day="${monday}"] .cal-item`, { hasText: "Monday espresso tasting" });
  await expect(item).toHaveAttribute("data-time", "10:00");
  const id = (await item.getAttribute("data-post-id"))!;
  const box = (await item.boundingBox())!;
  const target = page.locator(`.tg-col[data-day="${tuesday}"]`);
  // Grabbed at its middle; dropped so that its top lands at 11:30 on Tuesday (56 px an hour).
  const grab = { x: 10, y: Math.round(box.height / 2) };
  await item.dragTo(target, { sourcePosition: grab, targetPosition: { x: 30, y: Math.round(11.5 * 56) + grab.y } });
  await expect(page.locator(".toast").getByText(/^Moved to .*11:30/)).toBeVisible();
  const moved = target.locator(`[data-post-id="${id}"]`);
  await expect(moved).toHaveAttribute("data-time", "11:30");
  await screenshot(page, "calendar-week-dragged");
  await expect.poll(async () => wallClock((await postById(request, id)).scheduledFor, ZONE)).toEqual({ day: tuesday, time: "11:30" });
});

test("keyboard: arrows move a post by 15 minutes and a day, Enter saves, Esc cancels", async ({ request }) => {
  const item = page.locator(`.tg-col[data-day="${tuesday}"] .cal-item`, { hasText: "Monday espresso tasting" });
  const id = (await item.getAttribute("data-post-id"))!;
  await item.focus();
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowRight");
  await expect(page.getByTestId("pending-move")).toContainText("12:00");
  const moving = page.locator(`.tg-col[data-day="${wednesday}"] [data-post-id="${id}"]`);
  await expect(moving).toHaveAttribute("data-time", "12:00");
  await expect(moving).toBeFocused();
  await screenshot(page, "calendar-keyboard-pending");
  await page.keyboard.press("Enter");
  await expect(page.locator(".toast").getByText(/^Moved to .*12:00/)).toBeVisible();
  await expect(page.getByTestId("pending-move")).toHaveCount(0);
  await expect.poll(async () => wallClock((await postById(request, id)).scheduledFor, ZONE)).toEqual({ day: wednesday, time: "12:00" });

  // Escape puts it back without saving.
  await moving.focus();
  await page.keyboard.press("ArrowUp");
  await expect(page.getByTestId("pending-move")).toContainText("11:45");
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("pending-move")).toHaveCount(0);
  await expect(page.locator(`[data-post-id="${id}"]`)).toHaveAttribute("data-time", "12:00");
});

test("day, month and list views; filters; an item opens its post", async () => {
  await page.getByRole("button", { name: "Day", exact: true }).click();
  await page.getByRole("button", { name: "Next day" }).click();
  await page.getByRole("button", { name: "Next day" }).click();
  await expect(page.locator(`.tg-col[data-day="${wednesday}"] .cal-item`)).toHaveCount(1);
  await screenshot(page, "calendar-day");
  await page.getByRole("button", { name: "List", exact: true }).click();
  await expect(page.locator(".cal-row")).toHaveCount(2);
  await screenshot(page, "calendar-list");
  await page.getByLabel("Filter by status").selectOption("FAILED");
  await expect(page.locator(".cal-row")).toHaveCount(0);
  await expect(page.getByText("No post matches these filters")).toBeVisible();
  await page.getByLabel("Filter by status").selectOption("");
  await page.getByLabel("Filter by network").selectOption("x");
  await expect(page.locator(".cal-row")).toHaveCount(2);
  await page.getByLabel("Filter by network").selectOption("");
  await page.getByRole("button", { name: "Month", exact: true }).click();
  await expect(page.locator(`.calendar-day[data-day="${wednesday}"] .chip`)).toHaveCount(1);
  await screenshot(page, "calendar-month-planner");
  await page.locator(`.calendar-day[data-day="${wednesday}"] .chip`).click();
  await expect(page).toHaveURL(/\/posts\/[0-9a-f-]{36}$/);
});

test("best-times heatmap: every weekday row, hours without posts drawn as no data", async () => {
  await page.getByRole("link", { name: "Analytics" }).click();
  const heatmap = page.getByTestId("best-times-heatmap");
  await expect(heatmap).toBeVisible();
  // Sunday (ISO 7) has its row, and nothing is published yet: every hour is "no data".
  await expect(heatmap.locator('.cell[data-weekday="7"]')).toHaveCount(24);
  await expect(heatmap.locator(".cell.no-data")).toHaveCount(7 * 24);
  await heatmap.scrollIntoViewIfNeeded();
  await screenshot(page, "analytics-heatmap-no-data");
});

test("phone width (360px): the week scrolls inside its frame, the page does not", async () => {
  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto(`/calendar?view=week&date=${monday}`);
  await expect(page.locator(`.tg-col[data-day="${monday}"] .cal-item`)).toHaveCount(1);
  await expectNoHorizontalOverflow(page);
  await screenshot(page, "phone-calendar-week");
  await page.getByRole("button", { name: "List", exact: true }).click();
  await expect(page.locator(".cal-row")).toHaveCount(2);
  await expectNoHorizontalOverflow(page);
  await screenshot(page, "phone-calendar-list");
  await page.setViewportSize({ width: 1280, height: 800 });
});
