"""Media on S3 (moto in server mode, a real S3 API over HTTP): upload, presigned fetch, the
publishing engine's lazy load, delete."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from t21.db.session import transaction
from t21.emulators.base import free_port
from t21.media.service import media_files_for
from tests.conftest import AppFactory, assert_error, client_for, make_settings

from .conftest import jpeg, mp4

BUCKET = "t21-media"


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(s3_url: str) -> Any:
    client = boto3.client(
        "s3",
        endpoint_url=s3_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    client.create_bucket(Bucket=BUCKET)
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def s3_overrides(s3_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "s3_bucket": BUCKET,
        "s3_endpoint_url": s3_url,
        "s3_region": "us-east-1",
        "s3_access_key_id": "test",
        "s3_secret_access_key": "test",
        **extra,
    }


async def test_upload_presigned_fetch_and_delete(
    app_factory: AppFactory, register, s3, s3_url, db, database_url, session_tmp
) -> None:
    app = await app_factory(**s3_overrides(s3_url))
    async with client_for(app) as http:
        alice = await register(on=http)
        stranger = await register(on=http)
        brand = await alice.create_brand()
        data = jpeg(1080, 1080)
        created = await http.post(
            "/api/v1/media",
            data={"brandId": brand["id"]},
            files={"file": ("x.jpg", data, "image/jpeg")},
            headers=alice.headers,
        )
        assert created.status_code == 201, created.text
        media = created.json()
        key = f"{brand['id']}/{media['id']}.jpg"
        stored = s3.get_object(Bucket=BUCKET, Key=key)
        assert stored["Body"].read() == data
        assert stored["ContentType"] == "image/jpeg"
        assert not (session_tmp / "media" / brand["id"]).exists()  # nothing on local disk

        # The URL the networks get is presigned: it works with no credentials at all.
        assert media["url"].startswith(f"{s3_url}/{BUCKET}/{key}?")
        assert "X-Amz-Signature=" in media["url"]
        async with httpx.AsyncClient() as anonymous:
            fetched = await anonymous.get(media["url"])
            assert fetched.status_code == 200
            assert fetched.content == data
        # (moto does not check presigned signatures, so tampering is not tested here.)
        assert "X-Amz-Expires=86400" in media["url"]

        settings = make_settings(database_url, session_tmp, **s3_overrides(s3_url))
        async with transaction(db.sessionmaker) as session:
            (file,) = await media_files_for(session, settings, uuid.UUID(brand["id"]), [media["id"]])
        assert file.public_url.startswith(f"{s3_url}/{BUCKET}/{key}?")
        assert await file.load() == data  # get_object, only now

        assert_error(await stranger.delete(f"/api/v1/media/{media['id']}"), 404)
        assert (await alice.delete(f"/api/v1/media/{media['id']}")).status_code == 204
        assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


async def test_public_base_url_for_a_public_bucket(app_factory: AppFactory, register, s3, s3_url) -> None:
    app = await app_factory(**s3_overrides(s3_url, s3_public_base_url="https://media.example.com/"))
    async with client_for(app) as http:
        alice = await register(on=http)
        brand = await alice.create_brand()
        media = (
            await http.post(
                "/api/v1/media",
                data={"brandId": brand["id"]},
                files={"file": ("v.mov", mp4(), "video/mp4")},
                headers=alice.headers,
            )
        ).json()
    assert media["url"] == f"https://media.example.com/{brand['id']}/{media['id']}.mp4"
