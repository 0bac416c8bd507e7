// Drives the calendar in Chromium for bench/web_calendar.py (which starts T21 and seeds the posts).
// Uses web/'s playwright-core with Debian's /usr/bin/chromium (no browser download).
//
//   node bench/web_calendar_driver.mjs '<json config>'
//
// Config: {url, email, password, loadedMonth, baselineMonth, rounds, screenshots?}. Prints one JSON
// line of timings (ms). Every figure is measured in the page with performance.now(): from the
// click (or the drop) to the frame after the calendar shows the result.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "web", "package.json"));
const { chromium } = require("playwright-core");

const config = JSON.parse(process.argv[2]);
const rounds = config.rounds ?? 5;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  headless: true,
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });

async function shot(name) {
  if (config.screenshots) await page.screenshot({ path: path.join(config.screenshots, `${name}.png`), fullPage: true });
}

await page.goto(`${config.url}/login`);
await page.getByLabel("Email").fill(config.email);
await page.getByLabel("Password").fill(config.password);
await page.getByRole("button", { name: /sign in|log in/i }).click();
await page.waitForURL((u) => !u.pathname.startsWith("/login"));

/** Opens the month view of `month` ("YYYY-MM") and waits for its posts. */
async function openMonth(month, view = "month") {
  await page.goto(`${config.url}/calendar?view=${view}&date=${month}-15`);
  await page.waitForSelector('.cal-view[aria-busy="false"][data-loaded]:not([data-loaded=""])', { timeout: 60_000 });
}

/**
 * Clicks a navigation button and times until the view shows the period's posts (data-loaded changes
 * and is non-empty), then one more frame: fetch + render + paint.
 */
async function timeNavigation(buttonName) {
  return page.evaluate(async (name) => {
    const view = document.querySelector(".cal-view");
    const before = view.getAttribute("data-loaded");
    const button = [...document.querySelectorAll("button")].find((b) => b.getAttribute("aria-label") === name || b.textContent === name);
    performance.clearResourceTimings();
    const t0 = performance.now();
    button.click();
    await new Promise((resolve) => {
      const check = () => {
        const v = document.querySelector(".cal-view");
        const loaded = v?.getAttribute("data-loaded");
        if (loaded && loaded !== before && v.getAttribute("aria-busy") === "false") requestAnimationFrame(() => setTimeout(resolve, 0));
        else requestAnimationFrame(check);
      };
      check();
    });
    const ms = performance.now() - t0;
    // The posts' pages: when the last one arrived, and how long each took (request to last byte).
    const pages = performance.getEntriesByType("resource").filter((r) => r.name.includes("/api/v1/posts?"));
    const fetchedAt = pages.length ? Math.max(...pages.map((r) => r.responseEnd)) - t0 : 0;
    return { ms, fetchMs: fetchedAt, pages: pages.map((r) => Math.round(r.duration)), count: Number(document.querySelector(".cal-view").getAttribute("data-count")) };
  }, buttonName);
}

/**
 * Drags a movable item onto another day (month: the cell; week: a column at a time), with the
 * browser's drag events, and times until the item shows there (the optimistic move) and until the
 * server has confirmed it (the "Moved to" toast).
 */
async function timeDrag(kind, index) {
  return page.evaluate(
    async ({ kind, index }) => {
      const items = [...document.querySelectorAll(kind === "month" ? ".chip.movable" : ".cal-item.movable")];
      // Spread over the period; skip items already moved this run.
      const fresh = items.filter((el) => !el.dataset.benchMoved);
      const item = fresh[Math.floor(fresh.length * ((index * 0.13 + 0.1) % 1))] ?? items[0];
      const postId = item.getAttribute("data-post-id");
      const fromCell = item.closest("[data-day]");
      const fromDay = fromCell.getAttribute("data-day");
      const cells = [...document.querySelectorAll(kind === "month" ? ".calendar-day[data-day]" : ".tg-col[data-day]")];
      const at = cells.findIndex((c) => c.getAttribute("data-day") === fromDay);
      // The next day (or the one before at the end of the period): always in the future.
      const target = cells[at + 1 < cells.length ? at + 1 : at - 1];
      const toDay = target.getAttribute("data-day");
      const itemBox = item.getBoundingClientRect();
      const targetBox = target.getBoundingClientRect();
      const data = new DataTransfer();
      const x = targetBox.left + targetBox.width / 2;
      // Week: drop 45 minutes (42px at 56px an hour) lower than the item's top.
      const y = kind === "month" ? targetBox.top + targetBox.height / 2 : itemBox.top + 42 + 5;
      const fire = (el, type, cx, cy) => el.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, composed: true, dataTransfer: data, clientX: cx, clientY: cy }));
      fire(item, "dragstart", itemBox.left + 5, itemBox.top + 5);
      const countBefore = target.getAttribute("aria-label");
      let t0 = 0;
      const savedPromise = new Promise((resolve) => {
        // The confirmation toast, as it is added (older toasts may still be on screen).
        const seen = (node) => node instanceof HTMLElement && /Moved to|Could not move/.test(node.textContent ?? "");
        const observer = new MutationObserver((mutations) => {
          if (mutations.some((m) => [...m.addedNodes].some(seen))) {
            observer.disconnect();
            resolve(performance.now() - t0);
          }
        });
        observer.observe(document.body, { childList: true, subtree: true });
        setTimeout(() => {
          observer.disconnect();
          resolve(NaN);
        }, 15_000);
      });
      t0 = performance.now();
      fire(target, "dragenter", x, y);
      fire(target, "dragover", x, y);
      fire(target, "drop", x, y);
      fire(item, "dragend", x, y);
      const shown = () => {
        const cell = document.querySelector(`${kind === "month" ? ".calendar-day" : ".tg-col"}[data-day="${toDay}"]`);
        if (kind === "month") return cell && cell.getAttribute("aria-label") !== countBefore;
        return cell?.querySelector(`[data-post-id="${postId}"]`);
      };
      const optimistic = await new Promise((resolve) => {
        const check = () => (shown() ? requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0)) : requestAnimationFrame(check));
        check();
      });
      const saved = await savedPromise;
      const moved = document.querySelector(`[data-post-id="${postId}"]`);
      if (moved) moved.dataset.benchMoved = "1";
      return { optimistic, saved, fromDay, toDay };
    },
    { kind, index },
  );
}

/** With T21_BENCH_PROFILE=1: a CPU profile of `fn`, its heaviest functions (self time) on stderr. */
async function profiled(label, fn) {
  if (!process.env.T21_BENCH_PROFILE) return fn();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
  await cdp.send("Profiler.start");
  const out = await fn();
  const { profile } = await cdp.send("Profiler.stop");
  const self = new Map();
  const dt = new Map();
  profile.samples.forEach((id, i) => dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  for (const node of profile.nodes) {
    const f = node.callFrame;
    const key = `${f.functionName || "(anon)"} ${f.url.split("/").pop()}:${f.lineNumber}:${f.columnNumber}`;
    self.set(key, (self.get(key) ?? 0) + (dt.get(node.id) ?? 0) / 1000);
  }
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
  console.error(`--- profile: ${label}`);
  for (const [k, ms] of top) console.error(`${ms.toFixed(1).padStart(8)} ms  ${k}`);
  return out;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

const result = { render: {}, drag: {} };

// Render: the month before each measured month is opened first; "Next month" then loads it:
// - at once (its posts are fetched then: fetch + render);
// - 2.5 s later (the calendar has fetched the next month in the background: render only);
// - again and again (revisits, from the query cache).
// And the cold page load: /calendar?date=… typed in, from navigation start (HTML, scripts, session,
// brand, posts) to the month on screen.
for (const [label, month] of [["baseline", config.baselineMonth], ["loaded", config.loadedMonth]]) {
  const [y, m] = month.split("-").map(Number);
  const prev = new Date(Date.UTC(y, m - 2, 15)).toISOString().slice(0, 7);
  await openMonth(prev);
  const first = await timeNavigation("Next month");
  await openMonth(prev);
  await page.waitForTimeout(2500);
  const prefetched = await timeNavigation("Next month");
  const again = [];
  for (let i = 0; i < rounds; i++) {
    await timeNavigation("Previous month");
    again.push((await profiled(`revisit ${label}`, () => timeNavigation("Next month"))).ms);
  }
  const cold = [];
  for (let i = 0; i < rounds; i++) {
    await openMonth(month);
    cold.push(await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(() => resolve(performance.now()), 0)))));
  }
  result.render[label] = {
    firstVisitMs: first.ms,
    fetchMs: first.fetchMs,
    pages: first.pages,
    posts: first.count,
    prefetchedMs: prefetched.ms,
    revisitMs: median(again),
    revisits: again,
    coldLoadMs: median(cold),
    coldLoads: cold,
  };
}
await shot("month-2000");

// Drags in the month view (day changes, time kept) and the week view (day and time change).
for (const kind of ["month", "week"]) {
  for (const [label, month] of [["baseline", config.baselineMonth], ["loaded", config.loadedMonth]]) {
    await openMonth(month, kind);
    if (kind === "week") await page.waitForSelector(".cal-item.movable");
    const runs = [];
    for (let i = 0; i < rounds; i++) {
      runs.push(await profiled(`drag ${kind} ${label}`, () => timeDrag(kind, i)));
      await page.waitForTimeout(300);
    }
    result.drag[`${kind}-${label}`] = {
      optimisticMs: median(runs.map((r) => r.optimistic)),
      savedMs: median(runs.map((r) => r.saved)),
      runs: runs.map((r) => Math.round(r.optimistic)),
      items: await page.locator(kind === "month" ? ".chip" : ".cal-item").count(),
    };
    if (label === "loaded") await shot(`${kind}-2000`);
  }
}

console.log(JSON.stringify(result));
await browser.close();
