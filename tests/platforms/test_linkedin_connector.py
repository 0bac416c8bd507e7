"""The LinkedIn connector against the LinkedIn emulator over real HTTP: OAuth, versioned posts,
little-text escaping, images and video, reconciliation, metrics and every ErrorKind."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import httpx
import pytest

from t21.emulators.base import RunningServer
from t21.emulators.linkedin import LinkedInEmulator
from t21.platforms.base import Connector, ErrorKind, NoProgress, PlatformError, PublishRequest
from t21.platforms.linkedin import LinkedInConnector

from .conftest import FAULT_DELAY, RecordingProgress, add_fault, connect, control, media_file

MEMBER = "urn:li:person:t21SbxQ9"
TRICKY = r"Launch (beta) today! #launch_day with @team: *bold* _under_ ~strike~ <html> [x] {y} | back\slash"


@pytest.fixture
async def token(linkedin: Connector, http: httpx.AsyncClient) -> str:
    return (await connect(linkedin, http)).access_token


async def test_oauth_and_profile_urn(linkedin: Connector, http: httpx.AsyncClient) -> None:
    url = linkedin.authorization_url(state="s", code_challenge=None)
    assert "scope=openid+profile+email+w_member_social" in url
    tokens = await connect(linkedin, http)
    assert tokens.refresh_token is None
    assert set(tokens.scopes) == {"openid", "profile", "email", "w_member_social"}
    profile = await linkedin.get_profile(tokens.access_token)
    assert profile.platform_user_id == MEMBER


async def test_without_a_refresh_token_refreshing_means_reconnecting(
    linkedin: Connector, http: httpx.AsyncClient
) -> None:
    tokens = await connect(linkedin, http)
    with pytest.raises(PlatformError) as caught:
        await linkedin.refresh_token(tokens)
    assert caught.value.kind is ErrorKind.TOKEN_REVOKED
    assert "reconnect" in caught.value.message


async def test_partner_refresh_keeps_the_refresh_token(
    linkedin: Connector, li_emu: LinkedInEmulator, http: httpx.AsyncClient
) -> None:
    li_emu.issue_refresh_tokens = True
    tokens = await connect(linkedin, http)
    assert tokens.refresh_token is not None
    fresh = await linkedin.refresh_token(tokens)
    assert fresh.access_token != tokens.access_token
    assert fresh.refresh_token == tokens.refresh_token
    assert (await linkedin.get_profile(fresh.access_token)).platform_user_id == MEMBER


async def test_post_body_headers_and_urn(
    linkedin: Connector, li_emu: LinkedInEmulator, token: str, progress: RecordingProgress
) -> None:
    result = await linkedin.publish(
        access_token=token,
        account_id=MEMBER,
        request=PublishRequest(text="Hello LinkedIn"),
        progress=progress,
    )
    assert result.platform_post_id.startswith("urn:li:share:")
    assert progress.events == [("part", (0, result.platform_post_id))]
    [sent] = li_emu.requests_to("POST", "/rest/posts")
    assert sent.headers["linkedin-version"] == "202510"
    assert sent.headers["x-restli-protocol-version"] == "2.0.0"
    assert sent.json_body() == {
        "author": MEMBER,
        "commentary": "Hello LinkedIn",
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }


async def test_reserved_characters_survive_and_hashtags_stay_hashtags(
    linkedin: Connector, li_emu: LinkedInEmulator, token: str
) -> None:
    result = await linkedin.publish(
        access_token=token, account_id=MEMBER, request=PublishRequest(text=TRICKY), progress=NoProgress()
    )
    stored = li_emu.posts()[result.platform_post_id]
    assert stored.rendered == TRICKY
    assert "{hashtag|\\#|launch\\_day}" in stored.commentary


async def test_unescaped_commentary_is_cut_as_linkedin_cuts_it(
    linkedin_server: RunningServer, li_emu: LinkedInEmulator, http: httpx.AsyncClient, token: str
) -> None:
    answer = await http.post(
        f"{linkedin_server.url}/rest/posts",
        headers={"Authorization": f"Bearer {token}", "LinkedIn-Version": "202510"},
        json={
            "author": MEMBER,
            "commentary": "Launch (beta) today",
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED"},
            "lifecycleState": "PUBLISHED",
        },
    )
    assert answer.status_code == 201
    assert answer.content == b""
    assert li_emu.posts()[answer.headers["x-restli-id"]].rendered == "Launch "


async def test_one_image_is_media_and_several_are_multi_image(
    linkedin: Connector, li_emu: LinkedInEmulator, token: str
) -> None:
    one = await linkedin.publish(
        access_token=token,
        account_id=MEMBER,
        request=PublishRequest(text="one", media=[media_file(alt_text="a dot")]),
        progress=NoProgress(),
    )
    content = li_emu.posts()[one.platform_post_id].body["content"]
    assert content["media"]["id"].startswith("urn:li:image:")
    assert content["media"]["altText"] == "a dot"
    assert li_emu.assets()[content["media"]["id"]].uploaded

    two = await linkedin.publish(
        access_token=token,
        account_id=MEMBER,
        request=PublishRequest(text="two", media=[media_file(), media_file()]),
        progress=NoProgress(),
    )
    images = li_emu.posts()[two.platform_post_id].body["content"]["multiImage"]["images"]
    assert len(images) == 2


async def test_video_uploads_in_parts_and_waits_until_available(
    linkedin: Connector, li_emu: LinkedInEmulator, token: str
) -> None:
    data = b"\x01" * (4 * 1024 * 1024 + 10)  # two parts
    result = await linkedin.publish(
        access_token=token,
        account_id=MEMBER,
        request=PublishRequest(
            text="clip", media=[media_file(kind="video", content_type="video/mp4", data=data)]
        ),
        progress=NoProgress(),
    )
    video = li_emu.posts()[result.platform_post_id].body["content"]["media"]["id"]
    assert li_emu.assets()[video].finalized
    assert len(li_emu.requests_to("PUT", r"/dms-uploads/videos/.*")) == 2


async def test_missing_or_retired_version(
    linkedin_server: RunningServer,
    linkedin: LinkedInConnector,
    http: httpx.AsyncClient,
    token: str,
) -> None:
    missing = await http.get(
        f"{linkedin_server.url}/rest/posts",
        params={"q": "author", "author": MEMBER},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (missing.status_code, missing.json()["code"]) == (400, "VERSION_MISSING")

    retired = LinkedInConnector(dataclasses.replace(linkedin.config, api_version="202001"), http)
    with pytest.raises(PlatformError) as caught:
        await retired.publish(
            access_token=token, account_id=MEMBER, request=PublishRequest(text="hi"), progress=NoProgress()
        )
    assert (caught.value.kind, caught.value.status_code) == (ErrorKind.CONTENT_REJECTED, 426)
    assert "T21_LINKEDIN_VERSION" in caught.value.message


async def test_duplicate_is_content_rejected(linkedin: Connector, token: str) -> None:
    request = PublishRequest(text="same")
    await linkedin.publish(access_token=token, account_id=MEMBER, request=request, progress=NoProgress())
    with pytest.raises(PlatformError) as caught:
        await linkedin.publish(access_token=token, account_id=MEMBER, request=request, progress=NoProgress())
    assert (caught.value.kind, caught.value.status_code) == (ErrorKind.CONTENT_REJECTED, 422)
    assert "duplicate" in caught.value.message


async def test_throttled_without_headers_waits_a_minute(
    linkedin: Connector, linkedin_server: RunningServer, http: httpx.AsyncClient, token: str
) -> None:
    await add_fault(linkedin_server, http, match="POST /rest/posts", kind="rate_limit")
    with pytest.raises(PlatformError) as caught:
        await linkedin.publish(
            access_token=token, account_id=MEMBER, request=PublishRequest(text="hi"), progress=NoProgress()
        )
    assert (caught.value.kind, caught.value.retry_after) == (ErrorKind.RATE_LIMITED, 60.0)


async def test_expired_and_revoked_tokens(
    linkedin: Connector, linkedin_server: RunningServer, http: httpx.AsyncClient
) -> None:
    expiring = (await connect(linkedin, http)).access_token
    await control(linkedin_server, http, "tokens/expire", {"token": expiring})
    with pytest.raises(PlatformError) as expired:
        await linkedin.get_profile(expiring)
    assert expired.value.kind is ErrorKind.TOKEN_EXPIRED

    revoking = (await connect(linkedin, http)).access_token
    await control(linkedin_server, http, "tokens/revoke", {"token": revoking})
    with pytest.raises(PlatformError) as revoked:
        await linkedin.get_profile(revoking)
    assert revoked.value.kind is ErrorKind.TOKEN_REVOKED


async def test_timeout_after_store_then_reconciliation_by_text_for_a_partner_app(
    linkedin: Connector,
    li_emu: LinkedInEmulator,
    linkedin_server: RunningServer,
    http: httpx.AsyncClient,
) -> None:
    # Reading posts back needs r_member_social, which LinkedIn grants to approved partners only.
    await control(linkedin_server, http, "apps/approve", {"scopes": ["r_member_social"]})
    partner = LinkedInConnector(
        linkedin.config, http, timeout=linkedin.call_timeout, partner_scopes=("r_member_social",)
    )
    assert "r_member_social" in partner.authorization_url(state="s", code_challenge=None)
    token = (await connect(partner, http)).access_token
    since = datetime.now(UTC)
    await add_fault(
        linkedin_server, http, match="POST /rest/posts", kind="timeout_after_store", seconds=FAULT_DELAY
    )
    with pytest.raises(PlatformError) as caught:
        await partner.publish(
            access_token=token, account_id=MEMBER, request=PublishRequest(text=TRICKY), progress=NoProgress()
        )
    assert caught.value.kind is ErrorKind.UNKNOWN_OUTCOME
    [stored] = li_emu.posts().values()
    found = await partner.recent_posts(access_token=token, account_id=MEMBER, since=since)
    assert [(p.platform_post_id, p.text) for p in found] == [(stored.id, TRICKY)]


async def test_an_ordinary_app_cannot_read_posts_back(
    linkedin: Connector, li_emu: LinkedInEmulator, token: str
) -> None:
    await linkedin.publish(
        access_token=token, account_id=MEMBER, request=PublishRequest(text="Out"), progress=NoProgress()
    )
    with pytest.raises(PlatformError) as caught:
        await linkedin.recent_posts(access_token=token, account_id=MEMBER, since=datetime.now(UTC))
    assert caught.value.status_code == 403  # the engine reads this as "cannot tell": UNKNOWN
    assert linkedin.posts_page_url(platform_user_id=MEMBER, username=None).startswith(
        "https://www.linkedin.com/"
    )


async def test_server_error_on_publish_is_unknown_outcome(
    linkedin: Connector, linkedin_server: RunningServer, http: httpx.AsyncClient, token: str
) -> None:
    await add_fault(linkedin_server, http, match="POST /rest/posts", kind="status", status=502)
    with pytest.raises(PlatformError) as caught:
        await linkedin.publish(
            access_token=token, account_id=MEMBER, request=PublishRequest(text="hi"), progress=NoProgress()
        )
    assert caught.value.kind is ErrorKind.UNKNOWN_OUTCOME


async def test_metrics_grow_and_a_deleted_post_is_marked(
    linkedin: Connector,
    li_emu: LinkedInEmulator,
    linkedin_server: RunningServer,
    http: httpx.AsyncClient,
    token: str,
) -> None:
    kept = await linkedin.publish(
        access_token=token, account_id=MEMBER, request=PublishRequest(text="kept"), progress=NoProgress()
    )
    gone = await linkedin.publish(
        access_token=token, account_id=MEMBER, request=PublishRequest(text="gone"), progress=NoProgress()
    )
    ids = [kept.platform_post_id, gone.platform_post_id]
    await control(linkedin_server, http, "clock", {"advance": 3600})
    early = await linkedin.fetch_metrics(access_token=token, account_id=MEMBER, post_ids=ids)
    await control(linkedin_server, http, "clock", {"advance": 2 * 24 * 3600})
    await control(linkedin_server, http, f"posts/{gone.platform_post_id}/delete")
    late = await linkedin.fetch_metrics(access_token=token, account_id=MEMBER, post_ids=ids)

    assert 0 < early[0].impressions < late[0].impressions
    reactions = late[0].raw["socialMetadata"]["reactionSummaries"]
    assert late[0].likes == sum(r["count"] for r in reactions.values())
    assert late[0].reach == late[0].raw["analytics"]["MEMBERS_REACHED"]
    assert (early[1].deleted, late[1].deleted) == (False, True)
    entity_queries = [r.query for r in li_emu.requests_to("GET", "/rest/memberCreatorPostAnalytics")]
    assert "entity=(share:urn%3Ali%3Ashare%3A" in entity_queries[0]


async def test_validate_limits(linkedin: Connector) -> None:
    assert linkedin.validate("a" * 3000).ok
    assert [i.code for i in linkedin.validate("a" * 3001).issues] == ["too_long"]
    assert [i.code for i in linkedin.validate("x", media=[("image", "image/png")] * 10).issues] == [
        "too_many_media"
    ]
    assert [i.code for i in linkedin.validate("x", thread=["y"]).issues] == ["thread_unsupported"]
