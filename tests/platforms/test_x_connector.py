"""The X connector against the X emulator over real HTTP: OAuth with PKCE, publishing, threads,
media, reconciliation, metrics and every ErrorKind."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from t21.config import Settings
from t21.emulators.base import Fault, RunningServer, free_port
from t21.emulators.x import XEmulator
from t21.enums import Platform
from t21.platforms.base import Connector, ErrorKind, NoProgress, PlatformError, PublishRequest
from t21.platforms.text import pkce_pair

from .conftest import FAULT_DELAY, RecordingProgress, add_fault, connect, connector_for, control, media_file


@pytest.fixture
async def token(x: Connector, http: httpx.AsyncClient) -> str:
    return (await connect(x, http)).access_token


async def test_oauth_dance_with_pkce_gives_rotating_tokens_and_the_profile(
    x: Connector, http: httpx.AsyncClient
) -> None:
    url = x.authorization_url(state="s", code_challenge="c" * 43)
    assert "code_challenge_method=S256" in url
    assert "scope=tweet.read+tweet.write+users.read+media.write+offline.access" in url

    tokens = await connect(x, http)
    assert tokens.refresh_token
    assert tokens.expires_at is not None
    assert 7100 < (tokens.expires_at - datetime.now(UTC)).total_seconds() <= 7200
    assert "offline.access" in tokens.scopes

    profile = await x.get_profile(tokens.access_token)
    assert (profile.platform_user_id, profile.username) == ("1460000000000000001", "t21sandbox")


async def test_code_exchange_needs_the_matching_verifier(x: Connector, http: httpx.AsyncClient) -> None:
    _, challenge = pkce_pair()
    answer = await http.get(x.authorization_url(state="s", code_challenge=challenge))
    code = httpx.URL(answer.headers["location"]).params["code"]
    other_verifier, _ = pkce_pair()
    with pytest.raises(PlatformError) as caught:
        await x.exchange_code(code=code, code_verifier=other_verifier)
    assert caught.value.status_code == 400


async def test_denied_consent_redirects_with_access_denied(x: Connector, http: httpx.AsyncClient) -> None:
    _, challenge = pkce_pair()
    answer = await http.get(x.authorization_url(state="s", code_challenge=challenge) + "&deny=1")
    assert answer.status_code == 302
    params = httpx.URL(answer.headers["location"]).params
    assert (params["error"], params["state"]) == ("access_denied", "s")


async def test_refresh_rotates_and_a_used_refresh_token_is_revoked(
    x: Connector, http: httpx.AsyncClient
) -> None:
    first = await connect(x, http)
    second = await x.refresh_token(first)
    assert second.refresh_token
    assert second.refresh_token != first.refresh_token
    assert (await x.get_profile(second.access_token)).username == "t21sandbox"
    with pytest.raises(PlatformError) as caught:
        await x.refresh_token(first)
    assert caught.value.kind is ErrorKind.TOKEN_REVOKED
    assert caught.value.platform_code == "invalid_grant"


async def test_expired_access_token_is_token_expired_and_refresh_recovers(
    x: Connector, x_server: RunningServer, http: httpx.AsyncClient
) -> None:
    tokens = await connect(x, http)
    await control(x_server, http, "tokens/expire", {"token": tokens.access_token})
    with pytest.raises(PlatformError) as caught:
        await x.get_profile(tokens.access_token)
    assert (caught.value.kind, caught.value.status_code) == (ErrorKind.TOKEN_EXPIRED, 401)
    fresh = await x.refresh_token(tokens)
    assert (await x.get_profile(fresh.access_token)).platform_user_id == "1460000000000000001"


async def test_revoked_grant_fails_the_call_then_the_refresh(
    x: Connector, x_server: RunningServer, http: httpx.AsyncClient
) -> None:
    tokens = await connect(x, http)
    await control(x_server, http, "tokens/revoke", {"token": tokens.access_token})
    with pytest.raises(PlatformError) as call:
        await x.get_profile(tokens.access_token)
    assert call.value.kind is ErrorKind.TOKEN_EXPIRED  # X answers a bare 401 either way
    with pytest.raises(PlatformError) as refresh:
        await x.refresh_token(tokens)
    assert refresh.value.kind is ErrorKind.TOKEN_REVOKED


async def test_publish_text(x: Connector, x_emu: XEmulator, token: str, progress: RecordingProgress) -> None:
    result = await x.publish(
        access_token=token,
        account_id="1460000000000000001",
        request=PublishRequest(text="hello"),
        progress=progress,
    )
    tweet = x_emu.tweets()[result.platform_post_id]
    assert (tweet.text, tweet.author_id) == ("hello", "1460000000000000001")
    assert progress.events == [("part", (0, result.platform_post_id))]
    assert result.url is None  # sandbox posts have no x.com page


async def test_thread_chains_replies_and_reports_each_part_at_once(
    x: Connector, x_emu: XEmulator, token: str, progress: RecordingProgress
) -> None:
    request = PublishRequest(text="1/3 start", thread=["2/3 middle", "3/3 end"])
    result = await x.publish(
        access_token=token, account_id="1460000000000000001", request=request, progress=progress
    )
    ids = [result.platform_post_id, *result.thread_post_ids]
    assert progress.events == [("part", (i, tweet_id)) for i, tweet_id in enumerate(ids)]
    tweets = x_emu.tweets()
    assert [tweets[i].in_reply_to_tweet_id for i in ids] == [None, ids[0], ids[1]]
    assert {tweets[i].conversation_id for i in ids} == {ids[0]}


async def test_thread_resumes_after_the_parts_already_published(
    x: Connector, x_emu: XEmulator, token: str
) -> None:
    class FailAfterFirstPart(RecordingProgress):
        async def part_published(self, index: int, platform_post_id: str) -> None:
            await super().part_published(index, platform_post_id)
            if index == 0:
                x_emu.add_fault(Fault(match="POST /2/tweets", kind="status", status=503))

    request = PublishRequest(text="part one", thread=["part two", "part three"])
    interrupted = FailAfterFirstPart()
    with pytest.raises(PlatformError) as caught:
        await x.publish(access_token=token, account_id="1", request=request, progress=interrupted)
    assert caught.value.kind is ErrorKind.UNKNOWN_OUTCOME
    [(event, (index, first_id))] = interrupted.events
    assert (event, index) == ("part", 0)

    resumed = RecordingProgress()
    request.already_published = [first_id]
    result = await x.publish(access_token=token, account_id="1", request=request, progress=resumed)
    assert result.platform_post_id == first_id
    assert [event[1][0] for event in resumed.events] == [1, 2]
    tweets = x_emu.tweets()
    assert [t.text for t in tweets.values()] == ["part one", "part two", "part three"]
    assert tweets[result.thread_post_ids[0]].in_reply_to_tweet_id == first_id
    assert tweets[result.thread_post_ids[1]].in_reply_to_tweet_id == result.thread_post_ids[0]


async def test_images_go_through_v2_media_upload(
    x: Connector, x_emu: XEmulator, token: str, progress: RecordingProgress
) -> None:
    images = [
        media_file(content_type="image/png", alt_text="a red dot"),
        media_file(content_type="image/png"),
    ]
    result = await x.publish(
        access_token=token,
        account_id="1",
        request=PublishRequest(text="two pictures", media=images),
        progress=progress,
    )
    tweet = x_emu.tweets()[result.platform_post_id]
    assert len(tweet.media_ids) == 2
    assert x_emu.store["media"][tweet.media_ids[0]].alt_text == "a red dot"
    assert len(x_emu.requests_to("POST", r"/2/media/upload/initialize")) == 2
    assert len(x_emu.requests_to("POST", r"/2/media/upload/\d+/append")) == 2
    assert len(x_emu.requests_to("POST", r"/2/media/upload/\d+/finalize")) == 2


async def test_video_waits_for_processing(x: Connector, x_emu: XEmulator, token: str) -> None:
    x_emu.media_processing_polls = 2
    video = media_file(kind="video", content_type="video/mp4", data=b"\x00" * 5000)
    result = await x.publish(
        access_token=token,
        account_id="1",
        request=PublishRequest(text="a clip", media=[video]),
        progress=NoProgress(),
    )
    assert x_emu.tweets()[result.platform_post_id].media_ids
    assert len(x_emu.requests_to("GET", r"/2/media/upload")) == 2


async def test_duplicate_text_is_content_rejected_with_xs_message(x: Connector, token: str) -> None:
    request = PublishRequest(text="same words")
    await x.publish(access_token=token, account_id="1", request=request, progress=NoProgress())
    with pytest.raises(PlatformError) as caught:
        await x.publish(access_token=token, account_id="1", request=request, progress=NoProgress())
    assert (caught.value.kind, caught.value.status_code) == (ErrorKind.CONTENT_REJECTED, 403)
    assert "duplicate content" in caught.value.message


async def test_overlong_text_is_refused_by_the_network_too(
    x: Connector, x_emu: XEmulator, token: str
) -> None:
    text = "界" * 141  # 282 weighted characters
    assert not x.validate(text).ok
    with pytest.raises(PlatformError) as caught:
        await x.publish(
            access_token=token, account_id="1", request=PublishRequest(text=text), progress=NoProgress()
        )
    assert caught.value.kind is ErrorKind.CONTENT_REJECTED
    assert "too long" in caught.value.message
    assert x_emu.tweets() == {}


async def test_rate_limit_fault_gives_the_wait_until_reset(
    x: Connector, x_server: RunningServer, http: httpx.AsyncClient, token: str
) -> None:
    await add_fault(x_server, http, match="POST /2/tweets", kind="rate_limit", reset_in=120, count=3)
    for _ in range(3):
        with pytest.raises(PlatformError) as caught:
            await x.publish(
                access_token=token, account_id="1", request=PublishRequest(text="x"), progress=NoProgress()
            )
        assert caught.value.kind is ErrorKind.RATE_LIMITED
        assert caught.value.retry_after is not None
        assert 115 <= caught.value.retry_after <= 121
    await x.publish(
        access_token=token, account_id="1", request=PublishRequest(text="x"), progress=NoProgress()
    )


async def test_the_15_minute_tweet_window_is_counted_per_user(
    x: Connector, x_emu: XEmulator, x_server: RunningServer, http: httpx.AsyncClient, token: str
) -> None:
    x_emu.endpoint_limits["POST /2/tweets"] = 3
    remaining = []
    for n in range(3):
        answer = await http.post(
            f"{x_server.url}/2/tweets", json={"text": f"n{n}"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 201
        remaining.append(int(answer.headers["x-rate-limit-remaining"]))
        assert int(answer.headers["x-rate-limit-reset"]) > time.time()
    assert remaining == [2, 1, 0]
    with pytest.raises(PlatformError) as caught:
        await x.publish(
            access_token=token, account_id="1", request=PublishRequest(text="n3"), progress=NoProgress()
        )
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert caught.value.retry_after is not None
    assert 890 <= caught.value.retry_after <= 900
    await control(x_server, http, "clock", {"advance": 901})
    await x.publish(
        access_token=token, account_id="1", request=PublishRequest(text="n3"), progress=NoProgress()
    )


async def test_server_error_is_unknown_outcome_on_publish_and_transient_on_read(
    x: Connector, x_server: RunningServer, http: httpx.AsyncClient, token: str
) -> None:
    await add_fault(x_server, http, match="POST /2/tweets", kind="status", status=503)
    with pytest.raises(PlatformError) as publish:
        await x.publish(
            access_token=token, account_id="1", request=PublishRequest(text="hi"), progress=NoProgress()
        )
    assert publish.value.kind is ErrorKind.UNKNOWN_OUTCOME
    await add_fault(x_server, http, match="GET /2/users/me", kind="status", status=500)
    with pytest.raises(PlatformError) as read:
        await x.get_profile(token)
    assert read.value.kind is ErrorKind.TRANSIENT


async def test_timeout_after_store_is_unknown_outcome_and_reconciliation_finds_the_post(
    x: Connector, x_emu: XEmulator, x_server: RunningServer, http: httpx.AsyncClient, token: str
) -> None:
    since = datetime.now(UTC)
    await add_fault(x_server, http, match="POST /2/tweets", kind="timeout_after_store", seconds=FAULT_DELAY)
    with pytest.raises(PlatformError) as caught:
        await x.publish(
            access_token=token,
            account_id="1",
            request=PublishRequest(text="did it land?"),
            progress=NoProgress(),
        )
    assert caught.value.kind is ErrorKind.UNKNOWN_OUTCOME
    [stored] = x_emu.tweets().values()
    assert stored.text == "did it land?"
    found = await x.recent_posts(access_token=token, account_id="1460000000000000001", since=since)
    assert [(p.platform_post_id, p.text) for p in found] == [(stored.id, "did it land?")]


async def test_read_timeout_is_transient(
    x: Connector, x_server: RunningServer, http: httpx.AsyncClient, token: str
) -> None:
    await add_fault(x_server, http, match="GET /2/users/me", kind="timeout", seconds=FAULT_DELAY)
    with pytest.raises(PlatformError) as caught:
        await x.get_profile(token)
    assert caught.value.kind is ErrorKind.TRANSIENT


async def test_connection_refused_is_transient(test_settings: Settings, http: httpx.AsyncClient) -> None:
    nowhere = connector_for(Platform.x, f"http://127.0.0.1:{free_port()}", test_settings, http)
    with pytest.raises(PlatformError) as caught:
        await nowhere.publish(
            access_token="t", account_id="1", request=PublishRequest(text="hi"), progress=NoProgress()
        )
    assert caught.value.kind is ErrorKind.TRANSIENT


async def test_recent_posts_respects_since_and_pages(
    x: Connector, x_server: RunningServer, http: httpx.AsyncClient, token: str
) -> None:
    await x.publish(
        access_token=token, account_id="1", request=PublishRequest(text="old"), progress=NoProgress()
    )
    await control(x_server, http, "clock", {"advance": 3600})
    for n in range(105):  # more than one page of 100
        await http.post(
            f"{x_server.url}/2/tweets",
            json={"text": f"new {n}"},
            headers={"Authorization": f"Bearer {token}"},
        )
    since = datetime.fromtimestamp(time.time() + 1800, UTC)
    found = await x.recent_posts(access_token=token, account_id="1460000000000000001", since=since)
    assert len(found) == 105
    assert "old" not in {p.text for p in found}
    assert all(p.created_at is not None and p.created_at >= since for p in found)


async def test_metrics_grow_and_deleted_tweets_are_marked(
    x: Connector, x_server: RunningServer, http: httpx.AsyncClient, token: str
) -> None:
    kept = await x.publish(
        access_token=token, account_id="1", request=PublishRequest(text="a"), progress=NoProgress()
    )
    gone = await x.publish(
        access_token=token, account_id="1", request=PublishRequest(text="b"), progress=NoProgress()
    )
    await control(x_server, http, "clock", {"advance": 1800})
    ids = [kept.platform_post_id, gone.platform_post_id]
    early = {
        m.platform_post_id: m for m in await x.fetch_metrics(access_token=token, account_id="1", post_ids=ids)
    }
    await control(x_server, http, "clock", {"advance": 3600})  # the 2-hour token is still live
    await control(x_server, http, f"posts/{gone.platform_post_id}/delete")
    late = {
        m.platform_post_id: m for m in await x.fetch_metrics(access_token=token, account_id="1", post_ids=ids)
    }

    before, after = early[kept.platform_post_id], late[kept.platform_post_id]
    assert 0 < before.impressions < after.impressions
    assert before.likes <= after.likes
    assert after.likes > 0
    public = after.raw["public_metrics"]
    assert after.shares == public["retweet_count"] + public["quote_count"]
    assert after.saves == public["bookmark_count"]
    assert after.comments == public["reply_count"]
    assert late[gone.platform_post_id].deleted is True
    assert early[gone.platform_post_id].deleted is False


async def test_metrics_ask_for_at_most_100_ids_a_call(x: Connector, x_emu: XEmulator, token: str) -> None:
    ids = [str(1000 + n) for n in range(150)]
    metrics = await x.fetch_metrics(access_token=token, account_id="1", post_ids=ids)
    calls = x_emu.requests_to("GET", r"/2/tweets")
    assert [len(httpx.QueryParams(c.query)["ids"].split(",")) for c in calls] == [100, 50]
    assert len(metrics) == 150
    assert all(m.deleted for m in metrics)


async def test_validate_checks_every_thread_part_and_media(x: Connector) -> None:
    result = x.validate("ok", thread=["fine", "界" * 141, ""], media=[("image", "image/png")] * 5)
    codes = [issue.code for issue in result.issues]
    assert codes.count("too_long") == 1
    assert codes.count("empty") == 1
    assert "too_many_media" in codes
    assert x.validate("clip", media=[("video", "video/mp4"), ("image", "image/png")]).issues[0].code == (
        "too_many_media"
    )
    assert x.validate("x", media=[("image", "image/bmp")]).issues[0].code == "unsupported_media_type"
    assert x.validate("").issues[0].code == "empty"
    assert x.validate("界" * 140).ok
