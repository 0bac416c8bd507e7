import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { jsonResponse, renderWithApp } from "../../test/render";
import { PostActions } from "./PostPage";
import type { Post, SocialPost } from "./postQueries";

afterEach(() => vi.unstubAllGlobals());

// jsdom has no showModal(): the confirm dialog's content exists but counts as hidden, hence
// `hidden: true` for the buttons inside it (Chromium shows it: e2e/posts.spec.ts).

function target(fields: Partial<SocialPost>): SocialPost {
  return {
    id: crypto.randomUUID(),
    socialAccountId: crypto.randomUUID(),
    platform: "x",
    status: "SCHEDULED",
    scheduledFor: "2026-12-03T14:00:00Z",
    platformPostId: null,
    platformPostUrl: null,
    threadPostIds: [],
    publishedAt: null,
    error: null,
    errorCode: null,
    attempts: 0,
    overdue: null,
    ...fields,
  };
}

function post(fields: Partial<Post>): Post {
  return {
    id: crypto.randomUUID(),
    brandId: crypto.randomUUID(),
    userId: null,
    content: "Launch day",
    status: "SCHEDULED",
    scheduledFor: "2026-12-24T09:00:00Z",
    timeZone: "Europe/Paris",
    platforms: ["x"],
    overrides: {},
    thread: [],
    mediaIds: [],
    aiGenerated: false,
    aiGenerationId: null,
    publishedAt: null,
    createdAt: "2026-12-01T10:00:00Z",
    updatedAt: "2026-12-01T10:00:00Z",
    targets: [target({})],
    overdue: null,
    ...fields,
  };
}

async function requestOf(fetch: ReturnType<typeof vi.fn>, index = 0) {
  const [request] = fetch.mock.calls[index] as unknown as [Request];
  return { method: request.method, path: new URL(request.url).pathname, body: request.method === "GET" ? null : await request.clone().text() };
}

describe("actions on a post's page", () => {
  it("cancels a scheduled post only after confirmation", async () => {
    const scheduled = post({});
    const fetch = vi.fn(async () => jsonResponse(200, { ...scheduled, status: "CANCELLED" }));
    vi.stubGlobal("fetch", fetch);
    const user = userEvent.setup();
    renderWithApp(<PostActions post={scheduled} />);

    await user.click(screen.getByRole("button", { name: "Cancel post" }));
    const dialog = await screen.findByTestId("confirm-dialog");
    expect(dialog).toHaveTextContent("It will not be published");
    await user.click(within(dialog).getByRole("button", { name: "Keep it", hidden: true }));
    expect(fetch).not.toHaveBeenCalled();

    await user.click(screen.getByRole("button", { name: "Cancel post" }));
    await user.click(within(await screen.findByTestId("confirm-dialog")).getByRole("button", { name: "Cancel post", hidden: true }));
    await vi.waitFor(() => expect(fetch).toHaveBeenCalled());
    expect(await requestOf(fetch)).toMatchObject({ method: "DELETE", path: `/api/v1/posts/${scheduled.id}` });
  });

  it("retries failed targets at once, and UNKNOWN ones only after a warning that it may post twice", async () => {
    const mixed = post({
      status: "FAILED",
      platforms: ["x", "linkedin"],
      targets: [target({ status: "FAILED", error: "X said no" }), target({ platform: "linkedin", status: "UNKNOWN", error: "No answer" })],
    });
    const fetch = vi.fn(async () => jsonResponse(200, mixed));
    vi.stubGlobal("fetch", fetch);
    const user = userEvent.setup();
    renderWithApp(<PostActions post={mixed} />);

    await user.click(screen.getByRole("button", { name: "Retry X" }));
    await vi.waitFor(() => expect(fetch).toHaveBeenCalledTimes(1));
    expect(await requestOf(fetch, 0)).toMatchObject({ method: "POST", path: `/api/v1/posts/${mixed.id}/retry` });
    expect(JSON.parse((await requestOf(fetch, 0)).body ?? "{}")).toMatchObject({ includeUnknown: false });

    await user.click(screen.getByRole("button", { name: "Retry anyway…" }));
    const dialog = await screen.findByTestId("confirm-dialog");
    expect(dialog).toHaveTextContent("could not confirm whether this post went out on LinkedIn");
    expect(dialog).toHaveTextContent("retrying could post it twice");
    expect(fetch).toHaveBeenCalledTimes(1);
    await user.click(within(dialog).getByRole("button", { name: "Retry anyway", hidden: true }));
    await vi.waitFor(() => expect(fetch).toHaveBeenCalledTimes(2));
    expect(JSON.parse((await requestOf(fetch, 1)).body ?? "{}")).toMatchObject({ includeUnknown: true });
  });

  it("offers no cancel once the post has gone out", () => {
    vi.stubGlobal("fetch", vi.fn());
    renderWithApp(<PostActions post={post({ status: "PUBLISHED", targets: [target({ status: "PUBLISHED" })] })} />);
    expect(screen.queryByRole("button", { name: /Cancel|Delete/ })).toBeNull();
    expect(screen.getByRole("button", { name: "Duplicate" })).toBeVisible();
  });
});
