"""Every path to a published post leaves the same rows, notices and emails: a post published by a
lone job (the one-statement claim and success), one drained behind another job of its account
(taken over, its claim sent with the previous post's outcome), and one through the ORM claim
(the path of reconciliation and every case the fast claim leaves). One writer per outcome
(publishing/outcome.py): should one path's writer diverge, this test says where."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from tests.conftest import make_settings
from tests.publishing.conftest import PUBLISHING_SETTINGS, connect_account

from t21.jobs.context import JobResources
from t21.jobs.runner import build_http_client
from t21.kit import clock
from t21.publishing.attempt import publish_slow
from t21.publishing.drain import publish_social_post
from t21.publishing.queueing import queue_due_once


@pytest.fixture
async def res(database_url, session_tmp, fresh_networks, db) -> AsyncIterator[JobResources]:
    """A job's resources with no worker running: each path is driven by hand, in turn."""
    settings = make_settings(database_url, session_tmp, sandbox_url=fresh_networks.url, **PUBLISHING_SETTINGS)
    http = build_http_client()
    yield JobResources(settings=settings, db=db, http=http)
    await http.aclose()


async def _author(register, http) -> tuple[Any, dict[str, Any]]:
    """An author of their own (their emails get a send job of their own) with an X account."""
    alice = await register(on=http)
    brand = await alice.create_brand()
    await connect_account(http, alice, brand["id"], "x")
    return alice, brand


async def _posts(alice, brand, texts: list[str]) -> list[tuple[str, str]]:
    """Posts due a millisecond apart a moment from now (no job: no worker runs here), once due.
    (post id, target id) of each."""
    at = clock.utcnow() + timedelta(seconds=1.5)
    made = []
    for i, content in enumerate(texts):
        created = await alice.post(
            "/api/v1/posts",
            json={
                "brandId": brand["id"],
                "content": content,
                "scheduledFor": (at + timedelta(milliseconds=i)).isoformat(),
                "platforms": ["x"],
            },
        )
        assert created.status_code == 201, created.text
        body = created.json()
        made.append((body["id"], body["targets"][0]["id"]))
    await asyncio.sleep(max(0.0, (at - clock.utcnow()).total_seconds()) + 0.1)
    return made


async def _left(db, post_id: str, content: str, email: str) -> dict[str, Any]:
    """What publishing left for this post, its own ids, times and text replaced by placeholders."""

    def plain(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(post_id, "<post>").replace(content, "<content>")
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if k != "brandId"}
        return value

    async with db.engine.connect() as conn:
        target = (
            (
                await conn.execute(
                    text(
                        "SELECT id, status, attempts, platform_post_id, platform_post_url, thread_post_ids,"
                        " platform_container_id, published_at, next_metrics_at, error, error_code, job_id,"
                        " notified_status, notified_at FROM social_posts WHERE post_id = :p"
                    ),
                    {"p": post_id},
                )
            )
            .mappings()
            .one()
        )
        post = (
            (await conn.execute(text("SELECT status, published_at FROM posts WHERE id = :p"), {"p": post_id}))
            .mappings()
            .one()
        )
        attempts = (
            (
                await conn.execute(
                    text(
                        "SELECT attempt_number, outcome, error, platform_post_id, finished_at IS NOT NULL AS"
                        " finished, worker IS NOT NULL AS has_worker FROM publish_attempts"
                        " WHERE social_post_id = :t ORDER BY attempt_number"
                    ),
                    {"t": target["id"]},
                )
            )
            .mappings()
            .all()
        )
        notes = (
            (
                await conn.execute(
                    text(
                        "SELECT n.kind, n.title, n.body, n.data FROM notifications n JOIN users u"
                        " ON u.id = n.user_id WHERE u.email = :e AND n.data->>'postId' = :p"
                        " ORDER BY n.created_at"
                    ),
                    {"e": email, "p": post_id},
                )
            )
            .mappings()
            .all()
        )
        emails = (
            (
                await conn.execute(
                    text(
                        "SELECT id, subject, template, html, text_body FROM email_messages"
                        " WHERE to_address = :e AND template LIKE 'post_%' AND text_body LIKE :link"
                        " ORDER BY created_at"
                    ),
                    {"e": email, "link": f"%/posts/{post_id}%"},
                )
            )
            .mappings()
            .all()
        )
        # The author's coalesced send job, or the per-email job of one of this post's emails.
        send_jobs = (
            await conn.execute(
                text(
                    "SELECT task_name FROM procrastinate_jobs WHERE args->>'to_address' = :e"
                    " OR args->>'email_id' = ANY(:ids) ORDER BY id"
                ),
                {"e": email, "ids": [str(e["id"]) for e in emails]},
            )
        ).all()
    ppid = target["platform_post_id"]
    assert ppid, target
    url = target["platform_post_url"]
    return {
        "target": {
            "status": target["status"],
            "attempts": target["attempts"],
            "platform_post_url": url.replace(ppid, "<ppid>") if url else None,
            "thread_post_ids": target["thread_post_ids"],
            "platform_container_id": target["platform_container_id"],
            "published": target["published_at"] is not None,
            "metrics_in": target["next_metrics_at"] - target["published_at"],
            "error": target["error"],
            "error_code": target["error_code"],
            "job_id": target["job_id"],
            "notified_status": target["notified_status"],
            "notified": target["notified_at"] is not None,
        },
        "post": {"status": post["status"], "published": post["published_at"] is not None},
        "attempts": [
            {**a, "platform_post_id": "<ppid>" if a["platform_post_id"] == ppid else a["platform_post_id"]}
            for a in attempts
        ],
        "notifications": [plain(dict(n)) for n in notes],
        "emails": [
            {
                "subject": plain(e["subject"]),
                "template": e["template"],
                # The bodies carry the post's own link and text: the same once those are replaced.
                "html": re.sub(r"\s+", " ", plain(e["html"]).replace(url or "\0", "<url>")),
                "text": plain(e["text_body"]).replace(url or "\0", "<url>"),
            }
            for e in emails
        ],
        "send_jobs": [row[0] for row in send_jobs],
    }


async def test_a_post_published_by_each_path_leaves_the_same_rows_notices_and_emails(
    register, http, res, db, fresh_networks
) -> None:
    left: dict[str, dict[str, Any]] = {}

    # (a) a lone job: the one-statement claim and the one-statement success (succeed_alone).
    alice, brand = await _author(register, http)
    [(post_id, target_id)] = await _posts(alice, brand, ["Same story, told alone"])
    await publish_social_post(res, target_id, None)
    left["alone"] = await _left(db, post_id, "Same story, told alone", alice.email)

    # (b) drained: three posts of one account given their jobs as the queuer does; the first's job
    # takes over the two others and publishes them in turn, the third claimed in the same
    # transaction as the second's outcome (NextClaim).
    bob, bob_brand = await _author(register, http)
    texts = ["Same story, first in line", "Same story, drained", "Same story, claimed ahead"]
    drained = await _posts(bob, bob_brand, texts)
    await queue_due_once(res)
    async with db.engine.connect() as conn:
        job_id, lock = (
            await conn.execute(
                text(
                    "SELECT j.id, j.lock FROM social_posts s JOIN procrastinate_jobs j ON j.id = s.job_id"
                    " WHERE s.id = :t"
                ),
                {"t": drained[0][1]},
            )
        ).one()
    await publish_social_post(res, drained[0][1], job_id, lock)
    sent = [c.json_body()["text"] for c in fresh_networks.requests("x", "POST", r"/2/tweets")]
    assert sent[-3:] == texts, sent
    left["drained"] = await _left(db, drained[1][0], texts[1], bob.email)
    left["claimed ahead"] = await _left(db, drained[2][0], texts[2], bob.email)

    # (c) the ORM claim (reconciliation's path, and every case the one-statement claim leaves).
    dave, dave_brand = await _author(register, http)
    [(post_id, target_id)] = await _posts(dave, dave_brand, ["Same story, the long way"])
    await publish_slow(res, target_id, None)
    left["orm"] = await _left(db, post_id, "Same story, the long way", dave.email)

    assert left["alone"]["target"]["status"] == "PUBLISHED", left["alone"]
    assert left["alone"]["notifications"], left["alone"]
    assert left["alone"]["emails"], left["alone"]
    assert left["drained"] == left["alone"]
    assert left["claimed ahead"] == left["alone"]
    assert left["orm"] == left["alone"]
