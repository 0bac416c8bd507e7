"""Export of a person's data (issue 17, "Your data").

`POST /me/export` defers a job; the job gathers what the person may see (their personal brands
and their organizations' brands, through `visible_brand_ids`, the same rule every tenant-scoped
repository reads through): brands, posts with their targets (status, remote ids and URLs), the
media list, analytics and AI generations, as one `data.json` and one CSV per table, zipped. The zip
goes to the media storage (local disk under T21_DATA_DIR, or S3) under
`exports/<user>/<export>.zip`, and the person gets an email (the usual outbox/Resend/SMTP
pipeline) with a signed link that expires after EXPORT_LINK_TTL_HOURS.

The link is `GET /api/v1/me/export/<export id>?signature=<expires>.<user id>.<hmac>`: the
signature is the authorisation (an email link carries no session), an HMAC over the export id,
the person and the expiry with a key derived from the JWT secret for this purpose only. A
tampered or expired link is refused (403 invalid_export_link / 410 export_link_expired)."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import time
import uuid
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

from t21.ai.models import AIGeneration
from t21.analytics.models import PostAnalytics
from t21.brands.models import Brand
from t21.brands.repository import visible_brand_ids
from t21.config import Settings
from t21.errors import Forbidden, NotFound, T21Error
from t21.media.models import MediaAsset
from t21.media.storage import MediaStorage, storage_for
from t21.notifications.emails import queue_email
from t21.posts.models import Post, SocialPost
from t21.users.models import User

log = structlog.get_logger(__name__)

EXPORT_LINK_TTL_HOURS = 72
DOWNLOAD_ROUTE = "/api/v1/me/export/{id}"

# Columns never exported: bookkeeping of the engine, not the person's data.
_SKIP = {
    "job_id",
    "notified_status",
    "notified_at",
    "next_metrics_at",
    "metrics_deleted_at",
    "platform_container_id",
    "storage_key",
}


# --- signed links --------------------------------------------------------------------------------


def _signing_key(settings: Settings) -> bytes:
    # Derived, so an export link signature can never double as any other signature or token.
    return hmac.new(settings.jwt_secret.encode(), b"t21-data-export-link", hashlib.sha256).digest()


def _mac(settings: Settings, export_id: uuid.UUID, user_id: uuid.UUID, expires: int) -> str:
    message = f"{export_id}:{user_id}:{expires}".encode()
    return hmac.new(_signing_key(settings), message, hashlib.sha256).hexdigest()


def sign(settings: Settings, export_id: uuid.UUID, user_id: uuid.UUID, *, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + EXPORT_LINK_TTL_HOURS * 3600)
    return f"{expires}.{user_id.hex}.{_mac(settings, export_id, user_id, expires)}"


def download_url(settings: Settings, export_id: uuid.UUID, user_id: uuid.UUID) -> str:
    signature = sign(settings, export_id, user_id)
    return f"{settings.base_url}{DOWNLOAD_ROUTE.format(id=export_id)}?signature={signature}"


class InvalidExportLink(Forbidden):
    code = "invalid_export_link"
    message = "This download link is not valid. Ask for a new export from your settings."


class ExportLinkExpired(T21Error):
    status_code = 410
    code = "export_link_expired"
    message = "This download link has expired. Ask for a new export from your settings."


def verify(
    settings: Settings, export_id: uuid.UUID, signature: str, *, now: float | None = None
) -> uuid.UUID:
    """The person whose export this is; refuses a tampered or expired link."""
    try:
        expires_text, user_hex, mac = signature.split(".")
        expires, user_id = int(expires_text), uuid.UUID(hex=user_hex)
    except ValueError:
        raise InvalidExportLink() from None
    if not hmac.compare_digest(_mac(settings, export_id, user_id, expires).encode(), mac.encode()):
        raise InvalidExportLink()
    if expires < (now if now is not None else time.time()):
        raise ExportLinkExpired()
    return user_id


def storage_key(user_id: uuid.UUID, export_id: uuid.UUID) -> str:
    return f"exports/{user_id}/{export_id}.zip"


# --- gathering -----------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    return value


def _row(model: DeclarativeBase, *, skip: Iterable[str] = ()) -> dict[str, Any]:
    excluded = _SKIP | set(skip)
    return {
        attr.key: _plain(getattr(model, attr.key))
        for attr in model.__mapper__.column_attrs
        if attr.key not in excluded
    }


@dataclass
class ExportData:
    brands: list[dict[str, Any]]
    posts: list[dict[str, Any]]
    targets: list[dict[str, Any]]
    media: list[dict[str, Any]]
    analytics: list[dict[str, Any]]
    ai_generations: list[dict[str, Any]]


async def gather(session: AsyncSession, user_id: uuid.UUID) -> ExportData:
    """Everything the person may see, brand by brand (personal and their organizations')."""
    visible = visible_brand_ids(user_id)
    brands = list(
        await session.scalars(select(Brand).where(Brand.id.in_(visible)).order_by(Brand.created_at))
    )
    posts = list(
        await session.scalars(
            select(Post).where(Post.brand_id.in_(visible)).order_by(Post.created_at, Post.id)
        )
    )
    targets = list(
        await session.scalars(
            select(SocialPost)
            .join(Post, Post.id == SocialPost.post_id)
            .where(Post.brand_id.in_(visible))
            .order_by(SocialPost.created_at, SocialPost.id)
        )
    )
    media = list(
        await session.scalars(
            select(MediaAsset).where(MediaAsset.brand_id.in_(visible)).order_by(MediaAsset.created_at)
        )
    )
    analytics = list(
        await session.scalars(
            select(PostAnalytics)
            .where(PostAnalytics.brand_id.in_(visible))
            .order_by(PostAnalytics.date, PostAnalytics.id)
        )
    )
    generations = list(
        await session.scalars(
            select(AIGeneration).where(AIGeneration.brand_id.in_(visible)).order_by(AIGeneration.created_at)
        )
    )
    return ExportData(
        brands=[_row(b) for b in brands],
        posts=[_row(p) for p in posts],
        targets=[_row(t) for t in targets],
        media=[_row(m) for m in media],
        analytics=[_row(a) for a in analytics],
        ai_generations=[_row(g) for g in generations],
    )


def _csv(rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    k: json.dumps(v) if isinstance(v, list | dict) else ("" if v is None else v)
                    for k, v in row.items()
                }
            )
    return out.getvalue()


def build_zip(user: User, data: ExportData, exported_at: datetime) -> bytes:
    targets_by_post: dict[str, list[dict[str, Any]]] = {}
    for target in data.targets:
        targets_by_post.setdefault(str(target["post_id"]), []).append(target)
    document = {
        "exportedAt": exported_at.isoformat(),
        "user": {
            "id": str(user.id),
            "email": user.email,
            "name": user.name,
            "timeZone": user.time_zone,
            "createdAt": user.created_at.isoformat(),
        },
        "brands": data.brands,
        # Each post with its targets: one per network, with the network's own ids.
        "posts": [{**post, "targets": targets_by_post.get(str(post["id"]), [])} for post in data.posts],
        "media": data.media,
        "analytics": data.analytics,
        "aiGenerations": data.ai_generations,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(document, indent=2, ensure_ascii=False, default=str))
        for name, rows in (
            ("brands", data.brands),
            ("posts", data.posts),
            ("post_targets", data.targets),
            ("media", data.media),
            ("analytics", data.analytics),
            ("ai_generations", data.ai_generations),
        ):
            archive.writestr(f"{name}.csv", _csv(rows))
        archive.writestr(
            "README.txt",
            "Your T21 data: data.json holds everything (posts with their targets on each network,\n"
            "including the network's post ids); the CSV files hold the same rows, one file a table.\n"
            "Media files themselves are listed (media.csv), not included.\n",
        )
    return buffer.getvalue()


# --- the job's part ------------------------------------------------------------------------------


async def build_export(
    session: AsyncSession,
    settings: Settings,
    user_id: uuid.UUID,
    export_id: uuid.UUID,
    *,
    storage: MediaStorage | None = None,
) -> str | None:
    """Builds and stores the zip, and queues the email with its link. The storage key, or None if
    the person is gone."""
    from t21.kit.clock import utcnow

    user = await session.get(User, user_id)
    if user is None:
        log.info("data_export_for_unknown_user", user_id=str(user_id))
        return None
    payload = build_zip(user, await gather(session, user_id), utcnow())
    key = storage_key(user_id, export_id)
    await (storage or storage_for(settings)).save(key, io.BytesIO(payload), "application/zip", len(payload))
    await queue_email(
        session,
        user.email,
        "data_export_ready",
        name=user.name,
        hours=str(EXPORT_LINK_TTL_HOURS),
        url=download_url(settings, export_id, user_id),
    )
    log.info("data_export_built", user_id=str(user_id), export_id=str(export_id), size=len(payload))
    return key


async def load_export(settings: Settings, export_id: uuid.UUID, signature: str) -> bytes:
    user_id = verify(settings, export_id, signature)
    try:
        return await storage_for(settings).load(storage_key(user_id, export_id))
    except (FileNotFoundError, KeyError):
        raise NotFound("This export is no longer available", code="export_not_found") from None
    except Exception as exc:  # S3 NoSuchKey and friends
        if "NoSuchKey" in type(exc).__name__ or "NoSuchKey" in str(exc) or "404" in str(exc):
            raise NotFound("This export is no longer available", code="export_not_found") from None
        raise


async def delete_account_files_now(settings: Settings, user_id: uuid.UUID, keys: list[str]) -> int:
    """Deletes these stored files (a deleted account's media) and the person's exports. Missing
    files are fine (a job run twice). Returns how many media keys were given."""
    import shutil

    from t21.media.storage import LocalStorage

    storage = storage_for(settings)
    for key in keys:
        try:
            await storage.delete(key)
        except Exception as exc:  # one missing or refused file must not keep the others
            log.warning("account_file_delete_failed", key=key, error=repr(exc))
    if isinstance(storage, LocalStorage):
        folder = storage.path(f"exports/{user_id}/x").parent
        shutil.rmtree(folder, ignore_errors=True)
    # On S3, exports/<user>/ is left to the bucket's lifecycle rule (objects are private; links
    # to them expired after EXPORT_LINK_TTL_HOURS).
    return len(keys)
