"""The network emulators answer as the networks' public documentation says, including the quirks and
refusals behind "never twice, never lost" (issue 14): X's escaped text, t.co links and duplicate
filter, reads refused by low access tiers, LinkedIn's restricted post reads, Instagram's
publish-once containers and media list, and answers lost after the network stored the post.

Pure HTTP against the emulators served on loopback; no T21 code is involved."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from t21.emulators import instagram as instagram_emulator
from t21.emulators import linkedin as linkedin_emulator
from t21.emulators import x as x_emulator
from t21.emulators.base import RunningServer
from t21.emulators.social import SocialEmulator

REDIRECT = "https://t21.example/callback"
CLIENT_TIMEOUT = 1.0
FAULT_DELAY = 3.0
LI_HEADERS = {"LinkedIn-Version": "202510", "X-Restli-Protocol-Version": "2.0.0"}
IG_USER = instagram_emulator.DEFAULT_USER["user_id"]
LI_MEMBER = f"urn:li:person:{linkedin_emulator.DEFAULT_MEMBER['sub']}"


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, RunningServer]]:
    running = {
        "x": RunningServer(x_emulator.create_app()).start(),
        "linkedin": RunningServer(linkedin_emulator.create_app()).start(),
        "instagram": RunningServer(instagram_emulator.create_app()).start(),
    }
    yield running
    for server in running.values():
        server.stop()


def _fresh(server: RunningServer) -> Iterator[RunningServer]:
    emulator: SocialEmulator = server.app.state.emulator
    emulator.reset()
    yield server
    emulator.reset()


@pytest.fixture
def x_server(servers: dict[str, RunningServer]) -> Iterator[RunningServer]:
    yield from _fresh(servers["x"])


@pytest.fixture
def li_server(servers: dict[str, RunningServer]) -> Iterator[RunningServer]:
    yield from _fresh(servers["linkedin"])


@pytest.fixture
def ig_server(servers: dict[str, RunningServer]) -> Iterator[RunningServer]:
    yield from _fresh(servers["instagram"])


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=CLIENT_TIMEOUT) as client:
        yield client


def control(http: httpx.Client, server: RunningServer, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = http.post(f"{server.url}/_emulator/{path}", json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def code_from(answer: httpx.Response) -> dict[str, list[str]]:
    assert answer.status_code == 302, answer.text
    return parse_qs(urlsplit(answer.headers["location"]).query)


# --- X -----------------------------------------------------------------------------------------


def x_token(http: httpx.Client, server: RunningServer) -> tuple[dict[str, str], str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = code_from(
        http.get(
            f"{server.url}/authorize",
            params={
                "response_type": "code",
                "client_id": "t21",
                "redirect_uri": REDIRECT,
                "scope": "tweet.read tweet.write users.read offline.access",
                "state": "s",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
    )
    token = http.post(
        f"{server.url}/2/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "client_id": "t21",
        },
    )
    assert token.status_code == 200, token.text
    auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
    me = http.get(f"{server.url}/2/users/me", headers=auth)
    return auth, str(me.json()["data"]["id"])


def tweet(
    http: httpx.Client, server: RunningServer, auth: dict[str, str], text: str, reply_to: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"text": text}
    if reply_to:
        body["reply"] = {"in_reply_to_tweet_id": reply_to}
    return http.post(f"{server.url}/2/tweets", json=body, headers=auth)


def timeline(http: httpx.Client, server: RunningServer, auth: dict[str, str], user_id: str) -> httpx.Response:
    return http.get(
        f"{server.url}/2/users/{user_id}/tweets",
        params={"max_results": "100", "tweet.fields": "created_at,entities"},
        headers=auth,
    )


def test_x_reads_return_the_text_html_escaped(http: httpx.Client, x_server: RunningServer) -> None:
    """Docs: X API v2 Tweet object `text` (as stored: `&`, `<`, `>` HTML-escaped), GET /2/tweets,
    GET /2/users/:id/tweets; platform-apis.md "X": the `text` it returns is HTML-escaped."""
    auth, user_id = x_token(http, x_server)
    sent = "Fish & chips <3 -> \"quoted\" 'single' &amp; done"
    escaped = "Fish &amp; chips &lt;3 -&gt; \"quoted\" 'single' &amp;amp; done"
    created = tweet(http, x_server, auth, sent)
    assert created.status_code == 201, created.text
    tweet_id = created.json()["data"]["id"]

    [listed] = timeline(http, x_server, auth, user_id).json()["data"]
    assert (listed["id"], listed["text"]) == (tweet_id, escaped)
    [looked_up] = http.get(f"{x_server.url}/2/tweets", params={"ids": tweet_id}, headers=auth).json()["data"]
    assert looked_up["text"] == escaped


def test_x_create_answer_carries_the_stored_text(http: httpx.Client, x_server: RunningServer) -> None:
    """Docs: POST /2/tweets answers 201 `{data: {id, text}}` with the same TweetText as the reads
    (the documented example answers with a t.co link), so it is escaped too."""
    auth, _ = x_token(http, x_server)
    created = tweet(http, x_server, auth, "a < b & c > d")
    assert created.status_code == 201
    assert created.json()["data"]["text"] == "a &lt; b &amp; c &gt; d"


def test_x_links_come_back_as_tco_links(http: httpx.Client, x_server: RunningServer) -> None:
    """Docs: X API v2 Tweet object `entities.urls` (`url` is the t.co link, `expanded_url` the
    original); platform-apis.md "X": URLs come back as t.co links."""
    auth, user_id = x_token(http, x_server)
    link = "https://t21.example/launch?a=1&b=2"
    first = tweet(http, x_server, auth, f"Launch: {link}. And example.com too")
    second = tweet(http, x_server, auth, f"Again {link}")
    assert first.status_code == second.status_code == 201
    assert "t21.example" not in first.json()["data"]["text"]

    listed = {t["id"]: t for t in timeline(http, x_server, auth, user_id).json()["data"]}
    one = listed[first.json()["data"]["id"]]
    urls = one["entities"]["urls"]
    assert [u["expanded_url"] for u in urls] == [link, "http://example.com"]
    assert one["text"] == f"Launch: {urls[0]['url']}. And {urls[1]['url']} too"
    assert all(u["url"].startswith("https://t.co/") for u in urls)
    other = listed[second.json()["data"]["id"]]["entities"]["urls"][0]["url"]
    assert other != urls[0]["url"]  # a t.co link cannot be predicted from the URL


def test_x_refuses_duplicate_content(http: httpx.Client, x_server: RunningServer) -> None:
    """Docs: X API v2 "Response codes and errors": 403 Forbidden "You are not allowed to create a
    Tweet with duplicate content." (problem+json, type about:blank)."""
    auth, user_id = x_token(http, x_server)
    assert tweet(http, x_server, auth, "Tom & Jerry").status_code == 201
    again = tweet(http, x_server, auth, "Tom & Jerry")
    assert again.status_code == 403
    assert again.json() == {
        "title": "Forbidden",
        "detail": "You are not allowed to create a Tweet with duplicate content.",
        "type": "about:blank",
        "status": 403,
    }
    assert tweet(http, x_server, auth, "Tom &amp; Jerry").status_code == 201  # another text
    assert len(timeline(http, x_server, auth, user_id).json()["data"]) == 2


def test_x_counts_weighted_length_as_twitter_text_v3(http: httpx.Client, x_server: RunningServer) -> None:
    """Docs: X "Counting characters" (twitter-text v3): 280 weighted; CJK weighs 2, an emoji
    sequence 2 in all, every link 23; over the limit is 403 "Your Tweet text is too long"."""
    auth, _ = x_token(http, x_server)
    assert tweet(http, x_server, auth, "界" * 140).status_code == 201
    too_long = tweet(http, x_server, auth, "界" * 141)
    assert too_long.status_code == 403
    assert too_long.json()["detail"].startswith("Your Tweet text is too long.")
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
    assert tweet(http, x_server, auth, family * 140).status_code == 201
    link = "https://t21.example/" + "a" * 300
    assert tweet(http, x_server, auth, "x" * 256 + " " + link).status_code == 201  # 256 + 1 + 23
    assert tweet(http, x_server, auth, "y" * 257 + " " + link).status_code == 403


def test_x_low_tier_refuses_tweet_reads_with_client_not_enrolled(
    http: httpx.Client, x_server: RunningServer
) -> None:
    """Docs: X API v2 "Response codes and errors" / access levels: an app whose tier lacks an
    endpoint gets 403 `https://api.twitter.com/2/problems/client-forbidden`, reason
    `client-not-enrolled`; posting stays allowed."""
    auth, user_id = x_token(http, x_server)
    control(http, x_server, "read_refusal", {"status": 403})
    created = tweet(http, x_server, auth, "still posting")
    assert created.status_code == 201
    refused = timeline(http, x_server, auth, user_id)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    body = refused.json()
    assert (body["title"], body["reason"], body["type"]) == (
        "Client Forbidden",
        "client-not-enrolled",
        "https://api.twitter.com/2/problems/client-forbidden",
    )
    lookup = http.get(f"{x_server.url}/2/tweets", params={"ids": created.json()["data"]["id"]}, headers=auth)
    assert lookup.status_code == 403

    control(http, x_server, "read_refusal", {"status": None})
    assert timeline(http, x_server, auth, user_id).status_code == 200


def test_x_small_read_quota_answers_429_with_reset_headers(
    http: httpx.Client, x_server: RunningServer
) -> None:
    """Docs: X API v2 "Rate limits": 429 Too Many Requests with `x-rate-limit-limit`,
    `x-rate-limit-remaining` and `x-rate-limit-reset` (epoch seconds); no Retry-After."""
    auth, user_id = x_token(http, x_server)
    control(
        http,
        x_server,
        "read_refusal",
        {"status": 429, "reset_in": 600, "limit": 1, "endpoints": ["GET /2/users/:id/tweets"]},
    )
    assert tweet(http, x_server, auth, "posting works").status_code == 201
    refused = timeline(http, x_server, auth, user_id)
    assert refused.status_code == 429
    assert refused.headers["x-rate-limit-limit"] == "1"
    assert refused.headers["x-rate-limit-remaining"] == "0"
    assert int(refused.headers["x-rate-limit-reset"]) > 0
    assert "retry-after" not in refused.headers
    assert refused.json()["title"] == "Too Many Requests"


def test_x_answer_lost_for_the_second_part_of_a_thread_only(
    http: httpx.Client, x_server: RunningServer
) -> None:
    """Docs: POST /2/tweets has no idempotency key; threads are one POST per part. A lost answer
    (fault `timeout_after_store`, `skip` 1) hides a stored part 2 from the sender only."""
    auth, user_id = x_token(http, x_server)
    control(
        http,
        x_server,
        "faults",
        {"match": "POST /2/tweets", "kind": "timeout_after_store", "seconds": FAULT_DELAY, "skip": 1},
    )
    first = tweet(http, x_server, auth, "1/3 part & one")
    assert first.status_code == 201
    with pytest.raises(httpx.ReadTimeout):
        tweet(http, x_server, auth, "2/3 part & two", reply_to=first.json()["data"]["id"])
    listed = timeline(http, x_server, auth, user_id).json()["data"]
    assert [t["text"] for t in listed] == ["2/3 part &amp; two", "1/3 part &amp; one"]
    third = tweet(http, x_server, auth, "3/3 part three", reply_to=listed[0]["id"])
    assert third.status_code == 201  # the fault applied to part 2 only


def test_x_server_error_after_the_tweet_was_stored(http: httpx.Client, x_server: RunningServer) -> None:
    """Fault `status_after_store`: X stored the tweet, the client sees a 503 (X's 5xx answers do
    not prove the tweet was not created)."""
    auth, user_id = x_token(http, x_server)
    control(
        http, x_server, "faults", {"match": "POST /2/tweets", "kind": "status_after_store", "status": 503}
    )
    failed = tweet(http, x_server, auth, "stored anyway")
    assert failed.status_code == 503
    assert [t["text"] for t in timeline(http, x_server, auth, user_id).json()["data"]] == ["stored anyway"]


# --- LinkedIn ----------------------------------------------------------------------------------


def li_authorize(
    http: httpx.Client, server: RunningServer, scope: str, client_id: str = "t21"
) -> httpx.Response:
    return http.get(
        f"{server.url}/authorization",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "state": "s",
            "scope": scope,
        },
    )


def li_token(http: httpx.Client, server: RunningServer, scope: str, client_id: str = "t21") -> dict[str, Any]:
    query = code_from(li_authorize(http, server, scope, client_id))
    token = http.post(
        f"{server.url}/accessToken",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "client_id": client_id,
            "client_secret": "secret",
            "redirect_uri": REDIRECT,
        },
    )
    assert token.status_code == 200, token.text
    result: dict[str, Any] = token.json()
    return result


def li_post(http: httpx.Client, server: RunningServer, auth: dict[str, str], text: str) -> httpx.Response:
    body = {
        "author": LI_MEMBER,
        "commentary": text,
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    return http.post(f"{server.url}/rest/posts", json=body, headers={**auth, **LI_HEADERS})


def li_find(http: httpx.Client, server: RunningServer, auth: dict[str, str]) -> httpx.Response:
    return http.get(
        f"{server.url}/rest/posts",
        params={"q": "author", "author": LI_MEMBER},
        headers={**auth, **LI_HEADERS},
    )


def test_linkedin_refuses_to_authorize_a_scope_the_app_lacks(
    http: httpx.Client, li_server: RunningServer
) -> None:
    """Docs: LinkedIn "Getting Access" / OAuth 2.0: an app holds only its products' scopes;
    asking for another redirects with `error=unauthorized_scope_error` ("Scope ... is not authorized
    for your application"). r_member_social is restricted to approved partners."""
    refused = code_from(li_authorize(http, li_server, "openid profile w_member_social r_member_social"))
    assert refused["error"] == ["unauthorized_scope_error"]
    assert refused["error_description"] == ['Scope "r_member_social" is not authorized for your application']
    assert refused["state"] == ["s"]
    assert "code" not in refused

    granted = li_token(http, li_server, "openid profile email w_member_social")
    assert set(granted["scope"].split(",")) == {"openid", "profile", "email", "w_member_social"}


def test_linkedin_reading_member_posts_needs_r_member_social(
    http: httpx.Client, li_server: RunningServer
) -> None:
    """Docs: LinkedIn Posts API permissions: `r_member_social` to retrieve a member's posts (find
    by author, get by URN), `w_member_social` to create; a missing permission is 403 ACCESS_DENIED
    `{status, serviceErrorCode, code, message}` "Not enough permissions to access: ..."."""
    token = li_token(http, li_server, "openid profile w_member_social")
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    created = li_post(http, li_server, auth, "Hello")
    assert created.status_code == 201
    assert created.content == b""
    urn = created.headers["x-restli-id"]

    for refused in (
        li_find(http, li_server, auth),
        http.get(f"{li_server.url}/rest/posts/{urn}", headers={**auth, **LI_HEADERS}),
    ):
        assert refused.status_code == 403
        body = refused.json()
        assert set(body) == {"status", "serviceErrorCode", "code", "message"}
        assert (body["status"], body["code"]) == (403, "ACCESS_DENIED")
        assert body["message"].startswith("Not enough permissions to access: ")


def test_linkedin_partner_app_reads_its_member_posts(http: httpx.Client, li_server: RunningServer) -> None:
    """Docs: LinkedIn Posts API "Find Posts by Authors" (`q=author`) with `r_member_social`, once
    LinkedIn approved the app for it (emulator control `apps/approve`)."""
    control(http, li_server, "apps/approve", {"client_id": "partner", "scopes": ["r_member_social"]})
    assert "error" in code_from(li_authorize(http, li_server, "w_member_social r_member_social", "t21"))
    token = li_token(http, li_server, "openid w_member_social r_member_social", "partner")
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    urn = li_post(http, li_server, auth, "Partner post").headers["x-restli-id"]

    found = li_find(http, li_server, auth)
    assert found.status_code == 200
    assert [(p["id"], p["commentary"]) for p in found.json()["elements"]] == [(urn, "Partner post")]
    one = http.get(f"{li_server.url}/rest/posts/{urn}", headers={**auth, **LI_HEADERS})
    assert one.status_code == 200 and one.json()["id"] == urn


def test_linkedin_partner_approval_as_a_create_app_option(http: httpx.Client) -> None:
    """`create_app(approved_scopes=...)` approves every app, as for a partner; a reset keeps it."""
    with RunningServer(linkedin_emulator.create_app(approved_scopes=["r_member_social"])) as server:
        server.app.state.emulator.reset()
        token = li_token(http, server, "w_member_social r_member_social")
        assert "r_member_social" in token["scope"].split(",")


def test_linkedin_answer_lost_after_the_post_was_stored(http: httpx.Client, li_server: RunningServer) -> None:
    """Docs: POST /rest/posts has no idempotency key; its 201 carries the only id (`x-restli-id`).
    Fault `timeout_after_store`: the post exists, the client never learns its URN."""
    token = li_token(http, li_server, "openid w_member_social")
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    control(
        http,
        li_server,
        "faults",
        {"match": "POST /rest/posts", "kind": "timeout_after_store", "seconds": FAULT_DELAY},
    )
    with pytest.raises(httpx.ReadTimeout):
        li_post(http, li_server, auth, "Lost answer")
    [stored] = li_server.app.state.emulator.posts().values()
    assert stored.rendered == "Lost answer"
    assert li_find(http, li_server, auth).status_code == 403  # and an ordinary app cannot look


# --- Instagram ---------------------------------------------------------------------------------


def ig_token(http: httpx.Client, server: RunningServer) -> dict[str, str]:
    query = code_from(
        http.get(
            f"{server.url}/authorize",
            params={
                "client_id": "t21",
                "redirect_uri": REDIRECT,
                "response_type": "code",
                "scope": "instagram_business_basic,instagram_business_content_publish",
            },
        )
    )
    short = http.post(
        f"{server.url}/access_token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "client_id": "t21",
            "client_secret": "secret",
            "redirect_uri": REDIRECT,
        },
    )
    assert short.status_code == 200, short.text
    long = http.get(
        f"{server.url}/access_token",
        params={
            "grant_type": "ig_exchange_token",
            "client_secret": "secret",
            "access_token": short.json()["data"][0]["access_token"],
        },
    )
    assert long.status_code == 200, long.text
    return {"Authorization": f"Bearer {long.json()['access_token']}"}


def ig_container(http: httpx.Client, server: RunningServer, auth: dict[str, str], caption: str) -> str:
    created = http.post(
        f"{server.url}/{IG_USER}/media",
        data={"image_url": "https://media.t21.example/a.jpg", "caption": caption},
        headers=auth,
    )
    assert created.status_code == 200, created.text
    container = str(created.json()["id"])
    for _ in range(5):
        status = http.get(f"{server.url}/{container}", params={"fields": "status_code"}, headers=auth)
        if status.json()["status_code"] == "FINISHED":
            return container
    raise AssertionError("container never finished")


def ig_publish(
    http: httpx.Client, server: RunningServer, auth: dict[str, str], container: str
) -> httpx.Response:
    return http.post(f"{server.url}/{IG_USER}/media_publish", params={"creation_id": container}, headers=auth)


def ig_media(http: httpx.Client, server: RunningServer, auth: dict[str, str]) -> list[dict[str, Any]]:
    listed = http.get(
        f"{server.url}/{IG_USER}/media", params={"fields": "id,caption,timestamp"}, headers=auth
    )
    assert listed.status_code == 200, listed.text
    data: list[dict[str, Any]] = listed.json()["data"]
    return data


def test_instagram_container_publishes_once_and_reads_published(
    http: httpx.Client, ig_server: RunningServer
) -> None:
    """Docs: Instagram "IG Container" `status_code` PUBLISHED once its media is published;
    "Content Publishing": a container publishes at most once (a second publish is refused)."""
    auth = ig_token(http, ig_server)
    container = ig_container(http, ig_server, auth, "Once")
    published = ig_publish(http, ig_server, auth, container)
    assert published.status_code == 200
    media_id = published.json()["id"]
    status = http.get(f"{ig_server.url}/{container}", params={"fields": "id,status_code"}, headers=auth)
    assert status.json() == {"id": container, "status_code": "PUBLISHED"}

    again = ig_publish(http, ig_server, auth, container)
    assert again.status_code == 400
    error = again.json()["error"]
    assert (error["type"], error["code"], error["error_subcode"]) == ("OAuthException", 9004, 2207008)
    assert [m["id"] for m in ig_media(http, ig_server, auth)] == [media_id]


def test_instagram_container_never_names_its_media(http: httpx.Client, ig_server: RunningServer) -> None:
    """Docs: "IG Container" fields are only `copyright_check_status`, `id`, `status`,
    `status_code`: no media id; Graph refuses an undeclared field with (#100)."""
    auth = ig_token(http, ig_server)
    container = ig_container(http, ig_server, auth, "Which media?")
    assert ig_publish(http, ig_server, auth, container).status_code == 200
    read = http.get(f"{ig_server.url}/{container}", headers=auth, params={"fields": "id,status_code,status"})
    assert set(read.json()) == {"id", "status_code", "status"}
    for field in ("media_id", "id,published_media_id"):
        refused = http.get(f"{ig_server.url}/{container}", params={"fields": field}, headers=auth)
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == 100
        assert "nonexisting field" in refused.json()["error"]["message"]


def test_instagram_media_list_is_newest_first_with_exact_captions(
    http: httpx.Client, ig_server: RunningServer
) -> None:
    """Docs: "IG User Media" `GET /{ig-user-id}/media?fields=id,caption,timestamp`: the account's
    published media, newest first; a container that is not yet published is not there."""
    auth = ig_token(http, ig_server)
    first = ig_container(http, ig_server, auth, "First & <one>")
    second = ig_container(http, ig_server, auth, "Second #two")
    assert ig_media(http, ig_server, auth) == []
    first_id = ig_publish(http, ig_server, auth, first).json()["id"]
    assert [m["id"] for m in ig_media(http, ig_server, auth)] == [first_id]
    second_id = ig_publish(http, ig_server, auth, second).json()["id"]
    listed = ig_media(http, ig_server, auth)
    assert [(m["id"], m["caption"]) for m in listed] == [
        (second_id, "Second #two"),
        (first_id, "First & <one>"),
    ]
    assert all(set(m) == {"id", "caption", "timestamp"} and m["timestamp"].endswith("+0000") for m in listed)


def test_instagram_settle_time_hides_a_fresh_publish_from_the_list(
    http: httpx.Client, ig_server: RunningServer
) -> None:
    """Emulator option: the media list shows a publish only `seconds` after it (default 0), while
    the container already reads PUBLISHED, so "not found yet" can be exercised."""
    auth = ig_token(http, ig_server)
    control(http, ig_server, "settle", {"seconds": 30})
    container = ig_container(http, ig_server, auth, "Settling")
    media_id = ig_publish(http, ig_server, auth, container).json()["id"]
    status = http.get(f"{ig_server.url}/{container}", params={"fields": "status_code"}, headers=auth)
    assert status.json()["status_code"] == "PUBLISHED"
    assert ig_media(http, ig_server, auth) == []
    control(http, ig_server, "clock", {"advance": 31})
    assert [m["id"] for m in ig_media(http, ig_server, auth)] == [media_id]


def test_instagram_publish_answer_lost_after_the_media_was_published(
    http: httpx.Client, ig_server: RunningServer
) -> None:
    """Docs: media_publish has no idempotency key. Fault `timeout_after_store`: the media is live,
    the container reads PUBLISHED, the list shows it, and publishing again is refused."""
    auth = ig_token(http, ig_server)
    container = ig_container(http, ig_server, auth, "Lost publish answer")
    control(
        http,
        ig_server,
        "faults",
        {"match": f"POST /{IG_USER}/media_publish", "kind": "timeout_after_store", "seconds": FAULT_DELAY},
    )
    with pytest.raises(httpx.ReadTimeout):
        ig_publish(http, ig_server, auth, container)
    status = http.get(f"{ig_server.url}/{container}", params={"fields": "status_code"}, headers=auth)
    assert status.json()["status_code"] == "PUBLISHED"
    assert [m["caption"] for m in ig_media(http, ig_server, auth)] == ["Lost publish answer"]
    assert ig_publish(http, ig_server, auth, container).status_code == 400
