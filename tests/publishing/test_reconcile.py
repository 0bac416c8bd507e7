"""Never twice, never lost (DESIGN section 5, rule 4): an attempt whose answer was lost after the
network stored the post is reconciled against the network as its documentation says it answers
(X escapes text and wraps links in t.co; a thread is reconciled part by part; Instagram's container
reads PUBLISHED before the media shows in the account's list; a read the network refuses proves
nothing). Through the API and the real worker, against the emulators."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.publishing.conftest import connect_account, wait_for_post_status

from t21.emulators.base import Fault


async def setup(register: Any, http: Any, platform: str) -> tuple[Any, dict[str, Any]]:
    alice = await register(on=http)
    brand = await alice.create_brand()
    await connect_account(http, alice, brand["id"], platform)
    return alice, brand


async def publish_now(alice: Any, brand: dict[str, Any], platform: str, content: str, **extra: Any) -> str:
    created = await alice.post(
        "/api/v1/posts",
        json={
            "brandId": brand["id"],
            "content": content,
            "scheduledFor": "now",
            "platforms": [platform],
            **extra,
        },
    )
    assert created.status_code in (200, 201), created.text
    return str(created.json()["id"])


def lose_answers(networks: Any, platform: str, match: str, *, status: int = 503, skip: int = 0) -> None:
    """The network stores the post, then its answer is lost (a server error reaches T21)."""
    networks.emulator(platform).add_fault(
        Fault(match=match, kind="status_after_store", status=status, count=1, skip=skip)
    )


def live_tweets(networks: Any) -> list[Any]:
    return [t for t in networks.emulator("x").tweets().values() if not t.deleted]


# --- gap 1: X returns text HTML-escaped, links as t.co --------------------------------------------


async def test_x_post_with_escaped_characters_and_a_link_is_found_not_sent_twice(
    register, http, worker, fresh_networks
) -> None:
    alice, brand = await setup(register, http, "x")
    text = "Fish & chips <3 > mash — menu at https://example.com/menu?a=1&b=2 and example.org/x."
    lose_answers(fresh_networks, "x", "POST /2/tweets")
    post_id = await publish_now(alice, brand, "x", text)
    done = await wait_for_post_status(alice, post_id, {"PUBLISHED", "FAILED", "NEEDS_ATTENTION"}, timeout=30)
    [tweet] = live_tweets(fresh_networks)
    assert done["status"] == "PUBLISHED", done
    assert done["targets"][0]["platformPostId"] == tweet.id
    assert len(fresh_networks.requests("x", "POST", r"/2/tweets")) == 1  # never sent twice
    assert fresh_networks.requests("x", "GET", r"/2/users/[^/]+/tweets")  # it asked first


# --- gap 2: each part of a thread is reconciled like a whole post ---------------------------------


async def test_thread_whose_second_part_answer_was_lost_finds_it_and_posts_the_third(
    register, http, worker, fresh_networks
) -> None:
    alice, brand = await setup(register, http, "x")
    lose_answers(fresh_networks, "x", "POST /2/tweets", skip=1)  # only part 2's answer
    post_id = await publish_now(
        alice, brand, "x", "A thread 🧵 1/3", thread=["Part two: salt & <pepper>", "Part three"]
    )
    done = await wait_for_post_status(alice, post_id, {"PUBLISHED", "FAILED", "NEEDS_ATTENTION"}, timeout=30)
    assert done["status"] == "PUBLISHED", done
    tweets = sorted(live_tweets(fresh_networks), key=lambda t: int(t.id))
    assert [t.text for t in tweets] == ["A thread 🧵 1/3", "Part two: salt & <pepper>", "Part three"]
    assert tweets[1].in_reply_to_tweet_id == tweets[0].id
    assert tweets[2].in_reply_to_tweet_id == tweets[1].id
    target = done["targets"][0]
    assert target["platformPostId"] == tweets[0].id
    assert target["threadPostIds"] == [tweets[1].id, tweets[2].id]
    assert len(fresh_networks.requests("x", "POST", r"/2/tweets")) == 3  # part 2 not sent again


# --- gap 3: Instagram, a lost media_publish answer ------------------------------------------------


async def instagram_post(alice: Any, brand: dict[str, Any], caption: str) -> str:
    from tests.media.conftest import jpeg

    uploaded = await alice.post(
        "/api/v1/media",
        data={"brandId": brand["id"]},
        files={"file": ("photo.jpg", jpeg(640, 480), "image/jpeg")},
    )
    assert uploaded.status_code == 201, uploaded.text
    return await publish_now(alice, brand, "instagram", caption, mediaIds=[uploaded.json()["id"]])


async def test_instagram_lost_publish_answer_is_found_in_the_media_list_after_it_settles(
    register, http, worker, fresh_networks
) -> None:
    alice, brand = await setup(register, http, "instagram")
    settle = await fresh_networks.control("instagram", "settle", {"seconds": 2.0})
    assert settle.status_code == 200, settle.text
    lose_answers(fresh_networks, "instagram", r"POST /[^/]+/media_publish", status=500)
    post_id = await instagram_post(alice, brand, "Sunset & sea <3 #t21")
    done = await wait_for_post_status(alice, post_id, {"PUBLISHED", "FAILED", "NEEDS_ATTENTION"}, timeout=30)
    assert done["status"] == "PUBLISHED", done
    [media] = fresh_networks.emulator("instagram").media().values()
    assert done["targets"][0]["platformPostId"] == media.id
    assert len(fresh_networks.requests("instagram", "POST", r"/[^/]+/media_publish")) == 1
    # Reconciliation concluded in a few reads, not a read every couple of seconds for ever.
    status_reads = [
        r for r in fresh_networks.requests("instagram", "GET", r"/\d+") if "status_code" in r.query
    ]
    assert len(status_reads) <= 10, len(status_reads)


async def test_instagram_published_container_never_listed_ends_unknown_not_publishing(
    register, http, worker, fresh_networks, monkeypatch
) -> None:
    from t21.platforms.instagram import InstagramConnector

    monkeypatch.setattr(InstagramConnector, "settle_seconds", 1.0, raising=False)
    alice, brand = await setup(register, http, "instagram")
    await fresh_networks.control("instagram", "settle", {"seconds": 3600})
    lose_answers(fresh_networks, "instagram", r"POST /[^/]+/media_publish", status=500)
    post_id = await instagram_post(alice, brand, "Published in the dark")
    done = await wait_for_post_status(alice, post_id, {"PUBLISHED", "FAILED", "NEEDS_ATTENTION"}, timeout=30)
    target = done["targets"][0]
    assert target["status"] == "UNKNOWN", done
    # Nothing surely out, and something may be: the post asks for attention, it is not "failed".
    assert done["status"] == "NEEDS_ATTENTION", done
    assert target["errorCode"] == "outcome_unknown"
    assert "https://www.instagram.com/" in target["error"]
    assert len(fresh_networks.requests("instagram", "POST", r"/[^/]+/media_publish")) == 1
    reads = fresh_networks.requests("instagram", "GET", r"/[^/]+/media")
    assert 1 <= len(reads) <= 6, len(reads)


# --- gap 4: a read the network refuses proves nothing: UNKNOWN, never FAILED ----------------------


async def test_x_timeline_read_refused_403_ends_unknown_with_the_link_to_check(
    register, http, worker, fresh_networks
) -> None:
    alice, brand = await setup(register, http, "x")
    refused = await fresh_networks.control("x", "read_refusal", {"status": 403})
    assert refused.status_code == 200, refused.text
    lose_answers(fresh_networks, "x", "POST /2/tweets")
    post_id = await publish_now(alice, brand, "x", "Read me if you can")
    done = await wait_for_post_status(alice, post_id, {"PUBLISHED", "FAILED", "NEEDS_ATTENTION"}, timeout=30)
    target = done["targets"][0]
    assert target["status"] == "UNKNOWN", done
    # Nothing surely out, and something may be: the post asks for attention, it is not "failed".
    assert done["status"] == "NEEDS_ATTENTION", done
    assert target["errorCode"] == "outcome_unknown"
    assert "https://x.com/" in target["error"]
    assert len(fresh_networks.requests("x", "POST", r"/2/tweets")) == 1
    assert len(live_tweets(fresh_networks)) == 1


async def test_x_timeline_read_rate_limited_for_long_ends_unknown_not_resent(
    register, http, worker, fresh_networks
) -> None:
    alice, brand = await setup(register, http, "x")
    await fresh_networks.control("x", "read_refusal", {"status": 429, "reset_in": 900, "limit": 1})
    lose_answers(fresh_networks, "x", "POST /2/tweets")
    post_id = await publish_now(alice, brand, "x", "Low tier, little reading")
    done = await wait_for_post_status(alice, post_id, {"PUBLISHED", "FAILED", "NEEDS_ATTENTION"}, timeout=30)
    target = done["targets"][0]
    assert target["status"] == "UNKNOWN", done
    # Nothing surely out, and something may be: the post asks for attention, it is not "failed".
    assert done["status"] == "NEEDS_ATTENTION", done
    assert target["errorCode"] == "outcome_unknown"
    assert len(fresh_networks.requests("x", "POST", r"/2/tweets")) == 1


async def test_linkedin_without_r_member_social_cannot_reconcile_and_says_unknown(
    register, http, worker, fresh_networks
) -> None:
    alice, brand = await setup(register, http, "linkedin")
    lose_answers(fresh_networks, "linkedin", "POST /rest/posts")
    post_id = await publish_now(alice, brand, "linkedin", "Did it go out?")
    done = await wait_for_post_status(alice, post_id, {"PUBLISHED", "FAILED", "NEEDS_ATTENTION"}, timeout=30)
    target = done["targets"][0]
    assert target["status"] == "UNKNOWN", done
    # Nothing surely out, and something may be: the post asks for attention, it is not "failed".
    assert done["status"] == "NEEDS_ATTENTION", done
    assert target["errorCode"] == "outcome_unknown"
    assert "https://www.linkedin.com/" in target["error"]
    assert len(fresh_networks.requests("linkedin", "POST", r"/rest/posts")) == 1
    assert fresh_networks.requests("linkedin", "GET", r"/rest/posts")  # it tried to read


# --- a post is due at its time, not a second before it --------------------------------------------


async def test_a_post_is_not_published_before_its_time_even_when_its_job_runs_early(
    register, http, worker, fresh_networks
) -> None:
    from t21.jobs.context import resources
    from t21.publishing.drain import publish_social_post

    alice, brand = await setup(register, http, "x")
    when = datetime.now(UTC) + timedelta(seconds=0.8)
    created = await alice.post(
        "/api/v1/posts",
        json={
            "brandId": brand["id"],
            "content": "Not a moment too soon",
            "scheduledFor": when.isoformat(),
            "platforms": ["x"],
        },
    )
    assert created.status_code in (200, 201), created.text
    target_id = created.json()["targets"][0]["id"]
    # A run of the publishing job before the post's time (a job taken early, a sweep) sends nothing.
    await publish_social_post(resources(), target_id, None)
    await asyncio.sleep(0)
    assert fresh_networks.requests("x", "POST", r"/2/tweets") == []
    await wait_for_post_status(alice, created.json()["id"], {"PUBLISHED"})
    [sent] = fresh_networks.requests("x", "POST", r"/2/tweets")
    assert sent.at >= when.timestamp() - 0.01, when.timestamp() - sent.at
