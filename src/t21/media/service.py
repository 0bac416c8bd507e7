"""Media rules: who may upload and delete, what a file is (by content), how big it may be,
and the two functions the publishing engine uses to attach media to a post."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import BinaryIO

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from t21.brands.access import require_brand
from t21.config import Settings
from t21.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, ValidationFailed
from t21.kit.pagination import decode_cursor, encode_cursor
from t21.kit.schemas import ListResponse
from t21.media.models import MediaAsset
from t21.media.probe import PROBE_BYTES, image_size, sniff
from t21.media.repository import MediaRepository
from t21.media.schemas import MediaOut
from t21.media.storage import LocalStorage, MediaStorage, signature_valid, storage_for
from t21.organizations.roles import Action, ensure_allowed, min_role
from t21.platforms.base import MediaFile
from t21.users.models import User

log = structlog.get_logger(__name__)

SUPPORTED = "a JPEG, PNG, GIF or WEBP image, or an MP4 or MOV video"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The file is larger than the {limit} byte limit", details={"limit": limit})


@dataclass(frozen=True)
class _Inspected:
    size: int
    sha256: str
    head: bytes


def _inspect(source: BinaryIO, limit: int) -> _Inspected | None:
    """Size, hash and the first bytes in one pass; None as soon as the limit is passed."""
    source.seek(0)
    digest = hashlib.sha256()
    size = 0
    head = b""
    while chunk := source.read(1024 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        if len(head) < PROBE_BYTES:
            head += chunk[: PROBE_BYTES - len(head)]
        digest.update(chunk)
    source.seek(0)
    return _Inspected(size, digest.hexdigest(), head)


def clean_filename(name: str | None) -> str | None:
    if not name:
        return None
    # Only the last path part, without control characters: it is shown, never used as a path.
    base = _CONTROL.sub("", PurePosixPath(name.replace("\\", "/")).name).strip()
    return base[:300] or None


def _parse_ids(media_ids: list[str]) -> list[uuid.UUID]:
    parsed, malformed = [], []
    for raw in media_ids:
        try:
            parsed.append(uuid.UUID(str(raw)))
        except ValueError:
            malformed.append(str(raw))
    if malformed:
        raise ValidationFailed("Unknown media id", code="unknown_media", details={"mediaIds": malformed})
    return parsed


async def _assets_for(session: AsyncSession, brand_id: uuid.UUID, media_ids: list[str]) -> list[MediaAsset]:
    """The brand's assets in the order asked; an id of another brand is as unknown as a made-up one."""
    ids = _parse_ids(media_ids)
    found = await MediaRepository(session).for_brand(brand_id, ids)
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise ValidationFailed("Unknown media id", code="unknown_media", details={"mediaIds": missing})
    return [found[i] for i in ids]


async def media_files_for(
    session: AsyncSession, settings: Settings, brand_id: uuid.UUID, media_ids: list[str]
) -> list[MediaFile]:
    """Media to attach to a publish. `load` reads the bytes only when a connector uploads them
    (X, LinkedIn); Instagram fetches `public_url` itself."""
    storage = storage_for(settings)
    files = []
    for asset in await _assets_for(session, brand_id, media_ids):
        key = asset.storage_key

        def load(key: str = key) -> Awaitable[bytes]:
            return storage.load(key)

        files.append(
            MediaFile(
                kind=asset.kind,
                content_type=asset.content_type,
                size_bytes=asset.size_bytes,
                public_url=storage.public_url(asset.id, key),
                load=load,
            )
        )
    return files


async def media_kinds_for(
    session: AsyncSession, brand_id: uuid.UUID, media_ids: list[str]
) -> list[tuple[str, str]]:
    """[(kind, content_type)] in the order asked, for validating a post against network rules."""
    return [(a.kind, a.content_type) for a in await _assets_for(session, brand_id, media_ids)]


class MediaService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.repo = MediaRepository(session)
        self.storage = storage_for(settings)

    def _out(self, asset: MediaAsset) -> MediaOut:
        return MediaOut(
            id=asset.id,
            brand_id=asset.brand_id,
            kind=asset.kind,
            content_type=asset.content_type,
            size_bytes=asset.size_bytes,
            filename=asset.filename,
            width=asset.width,
            height=asset.height,
            sha256=asset.sha256,
            url=self.storage.public_url(asset.id, asset.storage_key),
            created_at=asset.created_at,
        )

    async def upload(
        self, user: User, brand_id: uuid.UUID, source: BinaryIO, filename: str | None
    ) -> MediaOut:
        await require_brand(self.session, user.id, brand_id, Action.upload_media)
        limit = self.settings.media_max_bytes
        inspected = await asyncio.to_thread(_inspect, source, limit)
        if inspected is None:
            raise too_large(limit)
        if inspected.size == 0:
            raise ValidationFailed("The file is empty", code="invalid_media")
        sniffed = sniff(inspected.head)
        if sniffed is None:
            raise ValidationFailed(
                f"Unsupported file type: upload {SUPPORTED}", code="unsupported_media_type"
            )
        width = height = None
        if sniffed.kind == "image":
            size = image_size(sniffed.content_type, inspected.head)
            if size is None:
                # The networks would refuse it too; better to say so now than at publish time.
                raise ValidationFailed(
                    "The image is damaged: its dimensions cannot be read", code="invalid_media"
                )
            width, height = size
        asset_id = uuid.uuid4()
        key = f"{brand_id}/{asset_id}{sniffed.extension}"
        # Stored before the row is written: a failed commit leaves an unreferenced file (harmless),
        # never a row without its file.
        await self.storage.save(key, source, sniffed.content_type, inspected.size)
        asset = await self.repo.add(
            MediaAsset(
                id=asset_id,
                brand_id=brand_id,
                uploaded_by_id=user.id,
                kind=sniffed.kind,
                content_type=sniffed.content_type,
                size_bytes=inspected.size,
                storage_key=key,
                filename=clean_filename(filename),
                width=width,
                height=height,
                sha256=inspected.sha256,
            )
        )
        log.info("media_uploaded", media_id=str(asset_id), kind=sniffed.kind, size=inspected.size)
        return self._out(asset)

    async def import_from_url(self, user: User, brand_id: uuid.UUID, url: str) -> MediaOut:
        """Fetch media from a URL through the SSRF guard, then store it like an upload."""
        import tempfile

        import httpx

        from t21.kit.http import guarded_client
        from t21.kit.netguard import check_url_shape

        await require_brand(self.session, user.id, brand_id, Action.upload_media)
        check_url_shape(url)
        limit = self.settings.media_max_bytes
        # Spooled: small files stay in memory, large ones go to disk; never the whole body twice.
        buffer = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024)  # noqa: SIM115 — closed below
        try:
            async with guarded_client(allow_private=self.settings.allow_private_urls) as http:
                try:
                    async with http.stream("GET", url) as response:
                        if response.status_code != 200:
                            raise ValidationFailed(
                                f"The URL answered HTTP {response.status_code}",
                                code="media_fetch_failed",
                                details={"url": url, "status": response.status_code},
                            )
                        received = 0
                        async for chunk in response.aiter_bytes():
                            received += len(chunk)
                            if received > limit:
                                raise too_large(limit)
                            buffer.write(chunk)
                except httpx.HTTPError as exc:
                    raise ValidationFailed(
                        f"The URL could not be fetched ({type(exc).__name__})",
                        code="media_fetch_failed",
                        details={"url": url},
                    ) from None
            buffer.seek(0)
            name = PurePosixPath(httpx.URL(url).path).name or None
            return await self.upload(user, brand_id, buffer, name)  # type: ignore[arg-type]
        finally:
            buffer.close()

    async def list(
        self, user: User, brand_id: uuid.UUID | None, cursor: str | None, limit: int
    ) -> ListResponse[MediaOut]:
        if brand_id is not None:
            await require_brand(self.session, user.id, brand_id, Action.view_media)
        after = decode_cursor(cursor, (datetime, uuid.UUID)) if cursor else None
        rows = await self.repo.page(user.id, brand_id=brand_id, after=after, limit=limit + 1)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id)
        return ListResponse[MediaOut](data=[self._out(r) for r in rows], next_cursor=next_cursor)

    async def _visible(self, user: User, media_id: uuid.UUID) -> MediaAsset:
        asset = await self.repo.get_visible(user.id, media_id)
        if asset is None:
            raise NotFound("Media not found", code="media_not_found")
        return asset

    async def get(self, user: User, media_id: uuid.UUID) -> MediaOut:
        return self._out(await self._visible(user, media_id))

    async def delete(self, user: User, media_id: uuid.UUID) -> Callable[[], Awaitable[None]]:
        """Deletes the row; returns the removal of the bytes, to run once the deletion committed
        (removing them first would break the asset if the transaction rolled back)."""
        asset = await self._visible(user, media_id)
        _, role = await require_brand(self.session, user.id, asset.brand_id, Action.view_media)
        needed = min_role(Action.delete_media).value
        ensure_allowed(
            role,
            Action.delete_media,
            message=f"Deleting media needs the {needed} role or higher on the brand's team",
        )
        post_id = await self.repo.used_by_pending_post(asset)
        if post_id is not None:
            raise Conflict(
                "A scheduled post still uses this media; remove it from the post first",
                code="media_in_use",
                details={"postId": str(post_id)},
            )
        key = asset.storage_key
        await self.repo.delete(asset)
        storage = self.storage

        async def remove_bytes() -> None:
            try:
                await storage.delete(key)
            except Exception as exc:  # an orphaned file is harmless; the answer is already sent
                log.warning("media_blob_delete_failed", media_id=str(media_id), error=type(exc).__name__)

        return remove_bytes

    async def public_asset(
        self, media_id: uuid.UUID, expires: int, sig: str
    ) -> tuple[MediaAsset, MediaStorage]:
        """The signature is the authorisation (the networks have no T21 session). Checked before
        the lookup, so a bad link cannot probe which ids exist."""
        if not signature_valid(self.settings, media_id, expires, sig):
            raise Forbidden("This media link is invalid or has expired", code="invalid_signature")
        asset = await self.repo.get(media_id)
        if asset is None:
            raise NotFound("Media not found", code="media_not_found")
        return asset, self.storage


def local_path(storage: MediaStorage, key: str) -> str | None:
    return str(storage.path(key)) if isinstance(storage, LocalStorage) else None
