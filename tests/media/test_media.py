"""Media uploads over the API: type by content, size limit, brand roles and tenancy, signed
public links, and the functions the publishing engine calls."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from t21.db.session import transaction
from t21.errors import ValidationFailed
from t21.media.service import clean_filename, media_files_for, media_kinds_for
from t21.media.storage import url_signature
from tests.conftest import AppFactory, assert_error, client_for

from .conftest import gif, jpeg, mp4, png, webp_vp8x


async def upload(
    account: Any,
    brand_id: str,
    data: bytes,
    filename: str = "file.bin",
    declared: str = "application/octet-stream",
) -> Any:
    return await account.post(
        "/api/v1/media", data={"brandId": brand_id}, files={"file": (filename, data, declared)}
    )


async def test_upload_is_typed_by_content_not_by_name(register, settings) -> None:
    alice = await register()
    brand = await alice.create_brand()
    data = jpeg(1200, 675)
    response = await upload(alice, brand["id"], data, filename="holiday.png", declared="image/png")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["kind"], body["contentType"]) == ("image", "image/jpeg")
    assert (body["width"], body["height"]) == (1200, 675)
    assert body["sizeBytes"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["filename"] == "holiday.png"
    assert body["brandId"] == brand["id"]

    stored = settings.data_dir / "media" / brand["id"] / f"{body['id']}.jpg"
    assert stored.read_bytes() == data

    refused = await upload(
        alice, brand["id"], b"just some text, honest", filename="photo.jpg", declared="image/jpeg"
    )
    assert_error(refused, 422, "unsupported_media_type")
    assert_error(
        await upload(alice, brand["id"], mp4(b"heic"), filename="IMG_1.mov"), 422, "unsupported_media_type"
    )
    assert_error(await upload(alice, brand["id"], png()[:20], filename="cut.png"), 422, "invalid_media")
    assert_error(await upload(alice, brand["id"], b"", filename="empty.png"), 422, "invalid_media")


@pytest.mark.parametrize(
    ("data", "kind", "content_type"),
    [
        (png(3, 2), "image", "image/png"),
        (gif(), "image", "image/gif"),
        (webp_vp8x(), "image", "image/webp"),
        (mp4(), "video", "video/mp4"),
        (mp4(b"qt  "), "video", "video/quicktime"),
    ],
)
async def test_every_supported_type(register, data, kind, content_type) -> None:
    alice = await register()
    brand = await alice.create_brand()
    body = (await upload(alice, brand["id"], data, filename="../../etc/passwd.x")).json()
    assert (body["kind"], body["contentType"]) == (kind, content_type)
    assert body["filename"] == "passwd.x"  # the last path part only
    if kind == "video":
        assert body["width"] is None
        assert body["height"] is None


async def test_size_limit(app_factory: AppFactory, register) -> None:
    app = await app_factory(media_max_bytes=1000)
    async with client_for(app) as http:
        alice = await register(on=http)
        brand = await alice.create_brand()
        ok = await upload(alice, brand["id"], png() + b"\x00" * (1000 - len(png())))
        assert ok.status_code == 201, ok.text
        # Just over: refused after reading, with the limit.
        over = assert_error(
            await upload(alice, brand["id"], png() + b"\x00" * 1000), 413, "payload_too_large"
        )
        assert over["details"] == {"limit": 1000}
        # Far over: refused from Content-Length, before the body is read.
        huge = assert_error(
            await upload(alice, brand["id"], png() + b"\x00" * 200_000), 413, "payload_too_large"
        )
        assert huge["details"] == {"limit": 1000}


async def test_list_get_delete_and_roles(app_factory: AppFactory, register) -> None:
    app = await app_factory(default_tier="BUSINESS")
    async with client_for(app) as http:
        owner = await register(on=http)
        org = (await owner.post("/api/v1/organizations", json={"name": "Agency"})).json()
        people = {}
        for role in ("editor", "viewer"):
            person = await register(on=http)
            invite = await owner.post(
                f"/api/v1/organizations/{org['id']}/invitations", json={"email": person.email, "role": role}
            )
            await person.post("/api/v1/invitations/accept", json={"token": invite.json()["token"]})
            people[role] = person
        stranger = await register(on=http)
        brand = await owner.create_brand(organizationId=org["id"])

        first = (await upload(people["editor"], brand["id"], png())).json()
        second = (await upload(owner, brand["id"], jpeg())).json()
        assert_error(await upload(people["viewer"], brand["id"], png()), 403)
        assert_error(await upload(stranger, brand["id"], png()), 404, "brand_not_found")

        listed = (await people["viewer"].get("/api/v1/media", params={"brandId": brand["id"]})).json()
        assert [m["id"] for m in listed["data"]] == [second["id"], first["id"]]
        page = (await owner.get("/api/v1/media", params={"brandId": brand["id"], "limit": 1})).json()
        rest = (await owner.get("/api/v1/media", params={"limit": 1, "cursor": page["nextCursor"]})).json()
        assert [m["id"] for m in page["data"] + rest["data"]] == [second["id"], first["id"]]
        assert (await stranger.get("/api/v1/media")).json()["data"] == []
        assert_error(await stranger.get("/api/v1/media", params={"brandId": brand["id"]}), 404)

        seen = (await people["viewer"].get(f"/api/v1/media/{first['id']}")).json()
        assert seen["sha256"] == first["sha256"]
        assert_error(await stranger.get(f"/api/v1/media/{first['id']}"), 404, "media_not_found")
        assert_error(await stranger.delete(f"/api/v1/media/{first['id']}"), 404, "media_not_found")
        assert_error(await people["viewer"].delete(f"/api/v1/media/{first['id']}"), 403)

        assert (await people["editor"].delete(f"/api/v1/media/{first['id']}")).status_code == 204
        assert_error(await owner.get(f"/api/v1/media/{first['id']}"), 404, "media_not_found")
        public = urlsplit(first["url"])
        assert_error(await http.get(f"{public.path}?{public.query}"), 404, "media_not_found")


async def test_signed_public_url(register, client, settings) -> None:
    alice = await register()
    brand = await alice.create_brand()
    data = png(4, 4)
    body = (await upload(alice, brand["id"], data)).json()
    url = urlsplit(body["url"])
    assert body["url"].startswith(f"{settings.base_url}/api/v1/media/public/{body['id']}?")
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert int(query["expires"]) >= time.time() + 24 * 3600 - 60

    fetched = await client.get(f"{url.path}?{url.query}")  # no Authorization: the networks have none
    assert fetched.status_code == 200
    assert fetched.content == data
    assert fetched.headers["content-type"] == "image/png"
    assert fetched.headers["x-content-type-options"] == "nosniff"

    tampered = query["sig"][:-1] + ("0" if query["sig"][-1] != "0" else "1")
    assert_error(await client.get(url.path, params={**query, "sig": tampered}), 403, "invalid_signature")
    assert_error(await client.get(url.path, params={**query, "expires": int(query["expires"]) + 1}), 403)
    past = int(time.time()) - 1
    expired = {"expires": past, "sig": url_signature(settings, uuid.UUID(body["id"]), past)}
    assert_error(await client.get(url.path, params=expired), 403, "invalid_signature")
    # A valid signature for an id that does not exist: not found (signature checked first).
    ghost = uuid.uuid4()
    future = int(time.time()) + 60
    ghost_query = {"expires": future, "sig": url_signature(settings, ghost, future)}
    assert_error(await client.get(f"/api/v1/media/public/{ghost}", params=ghost_query), 404)
    # The signature is bound to the id.
    other = (await upload(alice, brand["id"], gif())).json()
    assert_error(await client.get(f"/api/v1/media/public/{other['id']}", params=query), 403)


async def test_publishing_engine_interface(register, db, settings) -> None:
    alice = await register()
    bob = await register()
    brand = await alice.create_brand()
    bob_brand = await bob.create_brand()
    image = (await upload(alice, brand["id"], jpeg(800, 600))).json()
    video = (await upload(alice, brand["id"], mp4())).json()
    bobs = (await upload(bob, bob_brand["id"], png())).json()
    brand_id = uuid.UUID(brand["id"])

    async with transaction(db.sessionmaker) as session:
        kinds = await media_kinds_for(session, brand_id, [video["id"], image["id"]])
        files = await media_files_for(session, settings, brand_id, [image["id"], video["id"]])
        for wrong in ([bobs["id"]], [str(uuid.uuid4())], ["not-a-uuid"]):
            with pytest.raises(ValidationFailed) as refused:
                await media_files_for(session, settings, brand_id, [image["id"], *wrong])
            assert refused.value.code == "unknown_media"
            assert refused.value.details == {"mediaIds": wrong}
            with pytest.raises(ValidationFailed):
                await media_kinds_for(session, brand_id, wrong)
    assert kinds == [("video", "video/mp4"), ("image", "image/jpeg")]
    assert [(f.kind, f.content_type, f.size_bytes) for f in files] == [
        ("image", "image/jpeg", len(jpeg(800, 600))),
        ("video", "video/mp4", len(mp4())),
    ]
    assert await files[0].load() == jpeg(800, 600)
    assert await files[1].load() == mp4()
    assert files[0].public_url.startswith(f"{settings.base_url}/api/v1/media/public/{image['id']}?expires=")


async def test_media_used_by_a_scheduled_post_cannot_be_deleted(register, db) -> None:
    from sqlalchemy import text

    alice = await register()
    brand = await alice.create_brand()
    media = (await upload(alice, brand["id"], png())).json()
    async with transaction(db.sessionmaker) as session:
        await session.execute(
            text(
                "INSERT INTO posts (id, brand_id, content, status, media_ids) "
                "VALUES (gen_random_uuid(), :brand, 'hello', 'SCHEDULED', ARRAY[:media]::varchar[])"
            ),
            {"brand": brand["id"], "media": media["id"]},
        )
    assert_error(await alice.delete(f"/api/v1/media/{media['id']}"), 409, "media_in_use")
    async with transaction(db.sessionmaker) as session:
        await session.execute(text("UPDATE posts SET status = 'PUBLISHED'"))
    assert (await alice.delete(f"/api/v1/media/{media['id']}")).status_code == 204


async def test_api_key_scopes(app_factory: AppFactory, register) -> None:
    app = await app_factory(default_tier="PRO")
    async with client_for(app) as http:
        alice = await register(on=http)
        brand = await alice.create_brand()
        keys = [
            (await alice.post("/api/v1/api-keys", json={"name": s, "scopes": [s]})).json()["key"]
            for s in ("posts:read", "media:write")
        ]
        reader, writer = keys
        as_reader = {"Authorization": f"Bearer {reader}"}
        as_writer = {"Authorization": f"Bearer {writer}"}
        files = {"file": ("a.png", png(), "image/png")}
        form = {"brandId": brand["id"]}
        refused = await http.post("/api/v1/media", data=form, files=files, headers=as_reader)
        assert_error(refused, 403, "insufficient_scope")
        created = await http.post("/api/v1/media", data=form, files=files, headers=as_writer)
        assert created.status_code == 201
        for headers in (as_reader, as_writer):
            assert len((await http.get("/api/v1/media", headers=headers)).json()["data"]) == 1


def test_clean_filename() -> None:
    assert clean_filename("C:\\Users\\ada\\pic\x00\x1f.png") == "pic.png"
    assert clean_filename("../../x/y.jpg") == "y.jpg"
    assert clean_filename("") is None
    assert clean_filename("\x00") is None
    assert len(clean_filename("a" * 500) or "") == 300


async def test_size_limit_without_content_length(app_factory: AppFactory, register) -> None:
    """A chunked upload is counted as it streams and cut off past the limit."""
    app = await app_factory(media_max_bytes=1000)
    async with client_for(app) as http:
        alice = await register(on=http)
        brand = await alice.create_brand()
        boundary = "t21boundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="brandId"\r\n\r\n{brand["id"]}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()

        async def body() -> Any:
            yield head + png()
            for _ in range(10):
                yield b"\x00" * 10_000
            yield f"\r\n--{boundary}--\r\n".encode()

        response = await http.post(
            "/api/v1/media",
            content=body(),
            headers={**alice.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert "content-length" not in {k.lower() for k in response.request.headers}
        assert_error(response, 413, "payload_too_large")
