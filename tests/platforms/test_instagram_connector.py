"""The Instagram connector against the Instagram emulator over real HTTP: Instagram Login tokens,
containers (single, carousel, reel), container reuse, quota, insights and every ErrorKind."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from t21.emulators.base import RunningServer
from t21.emulators.instagram import InstagramEmulator
from t21.platforms.base import Connector, ErrorKind, NoProgress, PlatformError, PublishRequest
from t21.platforms.instagram import InstagramConnector

from .conftest import FAULT_DELAY, RecordingProgress, add_fault, connect, control, media_file

ACCOUNT = "17841400000000001"


@pytest.fixture
async def token(instagram: Connector, http: httpx.AsyncClient) -> str:
    return (await connect(instagram, http)).access_token


def post(text: str = "A caption #t21", images: int = 1) -> PublishRequest:
    return PublishRequest(text=text, media=[media_file() for _ in range(images)])


async def test_login_swaps_the_short_token_for_a_60_day_one(
    instagram: Connector, ig_emu: InstagramEmulator, http: httpx.AsyncClient
) -> None:
    url = instagram.authorization_url(state="s", code_challenge=None)
    assert "scope=instagram_business_basic%2Cinstagram_business_content_publish" in url
    tokens = await connect(instagram, http)
    assert tokens.access_token.startswith("IGAA")  # the long-lived one, not the 1-hour IGQ token
    assert tokens.expires_at is not None
    assert (tokens.expires_at - datetime.now(UTC)).days >= 59
    assert "instagram_business_content_publish" in tokens.scopes
    profile = await instagram.get_profile(tokens.access_token)
    assert (profile.platform_user_id, profile.username) == (ACCOUNT, "t21sandbox")
    assert len(ig_emu.requests_to("GET", "/access_token")) == 1


async def test_refresh_gives_a_new_working_token(instagram: Connector, http: httpx.AsyncClient) -> None:
    tokens = await connect(instagram, http)
    fresh = await instagram.refresh_token(tokens)
    assert fresh.access_token != tokens.access_token
    assert (await instagram.get_profile(fresh.access_token)).platform_user_id == ACCOUNT


async def test_denied_consent(
    instagram: Connector, http: httpx.AsyncClient, ig_emu: InstagramEmulator
) -> None:
    ig_emu.deny_authorizations = 1
    answer = await http.get(instagram.authorization_url(state="s", code_challenge=None))
    assert httpx.URL(answer.headers["location"]).params["error"] == "access_denied"


async def test_single_image_reports_the_container_before_publishing(
    instagram: Connector, ig_emu: InstagramEmulator, token: str, progress: RecordingProgress
) -> None:
    result = await instagram.publish(
        access_token=token, account_id=ACCOUNT, request=post(), progress=progress
    )
    [(event, container_id)] = progress.events
    assert event == "container"
    container = ig_emu.containers()[container_id]
    assert container.published_media_id == result.platform_post_id
    assert container.media_url is not None
    assert container.media_url.startswith("https://media.t21.example/")
    assert ig_emu.media()[result.platform_post_id].caption == "A caption #t21"
    # IN_PROGRESS was answered once and the connector polled again rather than publishing early.
    assert len(ig_emu.requests_to("GET", f"/{container_id}")) == 2


async def test_carousel_builds_children_then_the_parent(
    instagram: Connector, ig_emu: InstagramEmulator, token: str, progress: RecordingProgress
) -> None:
    result = await instagram.publish(
        access_token=token, account_id=ACCOUNT, request=post(images=3), progress=progress
    )
    parent = ig_emu.containers()[progress.events[0][1]]
    assert parent.media_type == "CAROUSEL"
    assert len(parent.children) == 3
    assert all(ig_emu.containers()[c].is_carousel_item for c in parent.children)
    assert ig_emu.media()[result.platform_post_id].media_type == "CAROUSEL_ALBUM"


async def test_a_video_becomes_a_reel(instagram: Connector, ig_emu: InstagramEmulator, token: str) -> None:
    video = media_file(kind="video", content_type="video/mp4")
    result = await instagram.publish(
        access_token=token,
        account_id=ACCOUNT,
        request=PublishRequest(text="clip", media=[video]),
        progress=NoProgress(),
    )
    assert ig_emu.media()[result.platform_post_id].media_type == "REELS"


async def test_a_retry_publishes_the_container_of_the_first_attempt(
    instagram: Connector,
    ig_emu: InstagramEmulator,
    instagram_server: RunningServer,
    http: httpx.AsyncClient,
    token: str,
    progress: RecordingProgress,
) -> None:
    await add_fault(instagram_server, http, match=f"POST /{ACCOUNT}/media_publish", kind="status", status=500)
    request = post()
    with pytest.raises(PlatformError) as caught:
        await instagram.publish(access_token=token, account_id=ACCOUNT, request=request, progress=progress)
    assert caught.value.kind is ErrorKind.UNKNOWN_OUTCOME
    [(_, container_id)] = progress.events

    assert await instagram.container_published_id(access_token=token, container_id=container_id) is None
    request.existing_container_id = container_id
    retry = RecordingProgress()
    result = await instagram.publish(access_token=token, account_id=ACCOUNT, request=request, progress=retry)
    assert retry.events == []
    assert list(ig_emu.containers()) == [container_id]
    assert ig_emu.containers()[container_id].published_media_id == result.platform_post_id


async def test_a_container_published_despite_a_timeout_is_found_not_published_twice(
    instagram: InstagramConnector,
    ig_emu: InstagramEmulator,
    instagram_server: RunningServer,
    http: httpx.AsyncClient,
    token: str,
    progress: RecordingProgress,
) -> None:
    await add_fault(
        instagram_server,
        http,
        match=f"POST /{ACCOUNT}/media_publish",
        kind="timeout_after_store",
        seconds=FAULT_DELAY,
    )
    request = post("Published in the dark")
    with pytest.raises(PlatformError) as caught:
        await instagram.publish(access_token=token, account_id=ACCOUNT, request=request, progress=progress)
    assert caught.value.kind is ErrorKind.UNKNOWN_OUTCOME
    [(_, container_id)] = progress.events
    [media] = ig_emu.media().values()

    found = await instagram.container_published_id(
        access_token=token, container_id=container_id, account_id=ACCOUNT, caption=request.text
    )
    assert found == media.id
    with pytest.raises(PlatformError) as unmatched:
        await instagram.container_published_id(access_token=token, container_id=container_id)
    assert unmatched.value.kind is ErrorKind.UNKNOWN_OUTCOME

    request.existing_container_id = container_id
    result = await instagram.publish(
        access_token=token, account_id=ACCOUNT, request=request, progress=NoProgress()
    )
    assert result.platform_post_id == media.id
    assert len(ig_emu.media()) == 1


async def test_publishing_a_container_twice_is_refused_as_the_api_does(
    instagram: Connector, instagram_server: RunningServer, http: httpx.AsyncClient, token: str
) -> None:
    progress = RecordingProgress()
    await instagram.publish(access_token=token, account_id=ACCOUNT, request=post(), progress=progress)
    again = await http.post(
        f"{instagram_server.url}/{ACCOUNT}/media_publish",
        data={"creation_id": progress.events[0][1]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert again.status_code == 400
    error = again.json()["error"]
    assert (error["type"], error["code"], error["error_subcode"]) == ("OAuthException", 9004, 2207008)


async def test_text_only_is_refused_before_any_call(
    instagram: Connector, ig_emu: InstagramEmulator, token: str
) -> None:
    assert [i.code for i in instagram.validate("just words").issues] == ["media_required"]
    with pytest.raises(PlatformError) as caught:
        await instagram.publish(
            access_token=token,
            account_id=ACCOUNT,
            request=PublishRequest(text="just words"),
            progress=NoProgress(),
        )
    assert caught.value.kind is ErrorKind.CONTENT_REJECTED
    assert ig_emu.requests_to("POST", f"/{ACCOUNT}/media") == []


async def test_caption_rules_are_enforced_by_the_network_too(instagram: Connector, token: str) -> None:
    caption = " ".join(f"#tag{n}" for n in range(31))
    assert [i.code for i in instagram.validate(caption, media=[("image", "image/jpeg")]).issues] == [
        "too_many_hashtags"
    ]
    with pytest.raises(PlatformError) as caught:
        await instagram.publish(
            access_token=token, account_id=ACCOUNT, request=post(caption), progress=NoProgress()
        )
    assert caught.value.kind is ErrorKind.CONTENT_REJECTED
    assert "30 hashtags" in caught.value.message
    assert caught.value.platform_code == "100/2207010"


async def test_spent_publishing_quota_is_rate_limited(
    instagram: Connector, ig_emu: InstagramEmulator, token: str
) -> None:
    ig_emu.quota_total = 1
    await instagram.publish(
        access_token=token, account_id=ACCOUNT, request=post("one"), progress=NoProgress()
    )
    with pytest.raises(PlatformError) as caught:
        await instagram.publish(
            access_token=token, account_id=ACCOUNT, request=post("two"), progress=NoProgress()
        )
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert caught.value.retry_after == 3600


async def test_throttling_waits_as_long_as_meta_says(
    instagram: Connector, instagram_server: RunningServer, http: httpx.AsyncClient, token: str
) -> None:
    await add_fault(instagram_server, http, match="*", kind="rate_limit", reset_in=600)
    with pytest.raises(PlatformError) as caught:
        await instagram.get_profile(token)
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert caught.value.retry_after == 600


@pytest.mark.parametrize(
    ("fault", "kind"),
    [("expired_token", ErrorKind.TOKEN_EXPIRED), ("revoked_token", ErrorKind.TOKEN_REVOKED)],
)
async def test_token_faults_are_told_apart_by_subcode(
    instagram: Connector,
    instagram_server: RunningServer,
    http: httpx.AsyncClient,
    token: str,
    fault: str,
    kind: ErrorKind,
) -> None:
    await add_fault(instagram_server, http, match="GET /me", kind=fault)
    with pytest.raises(PlatformError) as caught:
        await instagram.get_profile(token)
    assert caught.value.kind is kind


async def test_an_expired_token_cannot_be_refreshed(
    instagram: Connector, instagram_server: RunningServer, http: httpx.AsyncClient
) -> None:
    tokens = await connect(instagram, http)
    await control(instagram_server, http, "clock", {"advance": 61 * 24 * 3600})
    with pytest.raises(PlatformError) as call:
        await instagram.get_profile(tokens.access_token)
    assert call.value.kind is ErrorKind.TOKEN_EXPIRED
    with pytest.raises(PlatformError) as refresh:
        await instagram.refresh_token(tokens)
    assert refresh.value.kind is ErrorKind.TOKEN_REVOKED


async def test_server_errors_by_step(
    instagram: Connector, instagram_server: RunningServer, http: httpx.AsyncClient, token: str
) -> None:
    # Creating a container is safe to repeat; only media_publish is irreversible.
    await add_fault(instagram_server, http, match=f"POST /{ACCOUNT}/media", kind="status", status=500)
    with pytest.raises(PlatformError) as container:
        await instagram.publish(access_token=token, account_id=ACCOUNT, request=post(), progress=NoProgress())
    assert container.value.kind is ErrorKind.TRANSIENT


async def test_recent_posts_and_growing_insights_and_deleted_media(
    instagram: Connector, instagram_server: RunningServer, http: httpx.AsyncClient, token: str
) -> None:
    since = datetime.now(UTC)
    kept = await instagram.publish(
        access_token=token, account_id=ACCOUNT, request=post("kept"), progress=NoProgress()
    )
    gone = await instagram.publish(
        access_token=token, account_id=ACCOUNT, request=post("gone"), progress=NoProgress()
    )
    recent = await instagram.recent_posts(access_token=token, account_id=ACCOUNT, since=since)
    assert [(p.platform_post_id, p.text) for p in recent] == [
        (gone.platform_post_id, "gone"),
        (kept.platform_post_id, "kept"),
    ]

    ids = [kept.platform_post_id, gone.platform_post_id]
    await control(instagram_server, http, "clock", {"advance": 3600})
    early = await instagram.fetch_metrics(access_token=token, account_id=ACCOUNT, post_ids=ids)
    await control(instagram_server, http, "clock", {"advance": 24 * 3600})
    await control(instagram_server, http, f"posts/{gone.platform_post_id}/delete")
    late = await instagram.fetch_metrics(access_token=token, account_id=ACCOUNT, post_ids=ids)

    assert 0 < early[0].impressions < late[0].impressions
    assert late[0].reach is not None
    assert late[0].reach > 0
    assert late[0].saves == late[0].raw["data"][5]["values"][0]["value"]
    assert (early[1].deleted, late[1].deleted) == (False, True)


async def test_validate_counts_code_points_and_mentions(instagram: Connector) -> None:
    jpeg = [("image", "image/jpeg")]
    assert instagram.validate("👍" * 2200, media=jpeg).ok
    assert [i.code for i in instagram.validate("👍" * 2201, media=jpeg).issues] == ["too_long"]
    mentions = " ".join(f"@user{n}" for n in range(21))
    assert [i.code for i in instagram.validate(mentions, media=jpeg).issues] == ["too_many_mentions"]
    assert [i.code for i in instagram.validate("x", media=jpeg * 11).issues] == ["too_many_media"]
    assert [i.code for i in instagram.validate("x", media=[("image", "image/png")]).issues] == [
        "unsupported_media_type"
    ]
