"""Data export (issue 17): POST /me/export defers a job; the job zips what the person may see
(personal brands and their organizations' brands) as JSON and CSV, stores it and emails a signed,
expiring link; the link downloads the zip without a session; tampered or expired links refused."""

from __future__ import annotations

import io
import json
import re
import time
import uuid
import zipfile
from typing import Any

import httpx
from sqlalchemy import text

from t21.account.export import sign
from t21.account.tasks import data_export_job
from t21.jobs.context import JobResources
from tests.account.conftest import seed_post
from tests.auth.conftest import emails_to
from tests.conftest import assert_error

LINK = re.compile(r"(http://testserver)(/api/v1/me/export/[0-9a-f-]+\?signature=[\w.]+)")


async def run_export_jobs(db: Any, settings: Any) -> list[str]:
    """Run the waiting export jobs as the worker would; returns the storage keys."""
    async with db.engine.begin() as conn:
        rows = await conn.execute(
            text(
                "UPDATE procrastinate_jobs SET status = 'succeeded' "
                "WHERE task_name = 't21.build_data_export' "
                "AND status = 'todo' RETURNING args->>'user_id', args->>'export_id'"
            )
        )
        jobs = [(r[0], r[1]) for r in rows]
    keys = []
    async with httpx.AsyncClient() as http:
        for user_id, export_id in jobs:
            key = await data_export_job(JobResources(settings=settings, db=db, http=http), user_id, export_id)
            assert key is not None
            keys.append(key)
    return keys


async def test_export_from_request_to_the_emailed_zip(app, client, register, db) -> None:
    alice = await register(email="alice@example.com", name="Alice")
    bob = await register(email="bob@example.com", name="Bob")
    personal = await alice.create_brand(name="Alice's brand")
    await seed_post(db, personal["id"], content="Hello from Alice", remote_id="1790000000000000001")
    org = await alice.post("/api/v1/organizations", json={"name": "Alice Org"})
    assert org.status_code == 201, org.text
    org_brand = await alice.create_brand(name="Org brand", organizationId=org.json()["id"])
    await seed_post(db, org_brand["id"], content="Org news", remote_id="1790000000000000002")
    bobs = await bob.create_brand(name="Bob's brand")
    await seed_post(db, bobs["id"], content="Bob's secret plans", remote_id="BOB-REMOTE-99")

    asked = await alice.post("/api/v1/me/export")
    assert asked.status_code == 202, asked.text
    export_id = asked.json()["exportId"]
    # Nothing is built in the request: the job does it.
    assert await emails_to(db, alice.email, "data_export_ready") == []
    [key] = await run_export_jobs(db, app.state.settings)
    assert key == f"exports/{alice.id}/{export_id}.zip"

    [email] = await emails_to(db, alice.email, "data_export_ready")
    assert email["subject"] == "Your T21 data export is ready"
    match = LINK.search(email["text_body"])
    assert match, email["text_body"]
    path = match.group(2)
    assert export_id in path

    # No session needed: the signature is the authorisation.
    download = await client.get(path)
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert {
        "data.json",
        "brands.csv",
        "posts.csv",
        "post_targets.csv",
        "media.csv",
        "analytics.csv",
        "ai_generations.csv",
    } <= set(archive.namelist())
    data = json.loads(archive.read("data.json"))
    assert data["user"]["email"] == "alice@example.com"
    assert sorted(b["name"] for b in data["brands"]) == ["Alice's brand", "Org brand"]
    by_content = {p["content"]: p for p in data["posts"]}
    assert set(by_content) == {"Hello from Alice", "Org news"}
    [target] = by_content["Hello from Alice"]["targets"]
    assert target["platform_post_id"] == "1790000000000000001" and target["platform"] == "x"
    assert target["status"] == "PUBLISHED"
    assert "1790000000000000001" in archive.read("post_targets.csv").decode()
    # Nothing of another tenant, in any file.
    for name in archive.namelist():
        body = archive.read(name).decode()
        assert "BOB-REMOTE-99" not in body and "secret plans" not in body and "Bob's brand" not in body

    # A tampered link is refused; so is another export id with this signature.
    signature = path.split("signature=")[1]
    expires, user_hex, mac = signature.split(".")
    forged_user = f"{expires}.{uuid.UUID(bob.id).hex}.{mac}"
    assert_error(
        await client.get(f"/api/v1/me/export/{export_id}?signature={forged_user}"), 403, "invalid_export_link"
    )
    later = f"{int(expires) + 3600}.{user_hex}.{mac}"
    assert_error(
        await client.get(f"/api/v1/me/export/{export_id}?signature={later}"), 403, "invalid_export_link"
    )
    assert_error(await client.get(f"/api/v1/me/export/{uuid.uuid4()}?signature={signature}"), 403)
    assert_error(await client.get(f"/api/v1/me/export/{export_id}?signature=garbage"), 403)
    # An expired one (signed four days ago: the link lives 72 hours).
    old = sign(app.state.settings, uuid.UUID(export_id), uuid.UUID(alice.id), now=time.time() - 4 * 86400)
    assert_error(
        await client.get(f"/api/v1/me/export/{export_id}?signature={old}"), 410, "export_link_expired"
    )
    # A valid signature for an export never built: not found.
    missing = uuid.uuid4()
    fresh = sign(app.state.settings, missing, uuid.UUID(alice.id))
    assert_error(await client.get(f"/api/v1/me/export/{missing}?signature={fresh}"), 404, "export_not_found")


async def test_export_needs_a_session(client, register) -> None:
    assert (await client.post("/api/v1/me/export")).status_code == 401
