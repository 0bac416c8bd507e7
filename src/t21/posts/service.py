"""Posts: validation against every target network, quota, and scheduling (DESIGN sections 3–5).

Creating a scheduled post writes the Post, one SocialPost per target account and one publish job
per target in the request's single transaction: either all of it exists or none of it does.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

import psycopg
from sqlalchemy.ext.asyncio import AsyncSession

from t21.ai.models import AIGeneration
from t21.auth.verification import ensure_email_verified
from t21.brands.access import require_brand
from t21.brands.models import Brand
from t21.config import Settings
from t21.db.base import new_id
from t21.db.locking import allow_replay
from t21.enums import Platform, PostStatus, SocialAccountStatus, SocialPostStatus
from t21.errors import Conflict, NotFound, ValidationFailed
from t21.jobs.app import raw_connection
from t21.kit.clock import utcnow
from t21.kit.pagination import decode_cursor, encode_cursor
from t21.kit.schemas import ListResponse
from t21.kit.timezones import local_to_utc
from t21.organizations.roles import Action
from t21.platforms.validation import validate_content
from t21.posts.models import IdempotencyRecord, Post, SocialPost
from t21.posts.repository import PostFilters, PostListQueries, PostRepository
from t21.posts.schemas import (
    PlatformOverride,
    PlatformValidation,
    PostCreate,
    PostOut,
    PostUpdate,
    RetryRequest,
    SocialPostOut,
    ValidateRequest,
    ValidateResponse,
    ValidationIssueOut,
)
from t21.publishing.overdue import Overdue, overdue_of_targets, post_overdue
from t21.publishing.per_network import content_for, media_for, thread_for
from t21.publishing.scheduling import cancel_target_job, schedule_target
from t21.quotas.readonly import ensure_account_within_plan, ensure_brand_within_plan
from t21.quotas.service import billing_owner_for_brand, consume_posts, release_posts
from t21.social_accounts.models import SocialAccount
from t21.users.models import User

# A time this close to now counts as "now" rather than "in the past" (clock skew, slow clients).
PAST_TOLERANCE = timedelta(seconds=5)
IDEMPOTENCY_SCOPE = "POST /posts"
EDITABLE = {PostStatus.DRAFT, PostStatus.SCHEDULED, PostStatus.PENDING_APPROVAL}
NOT_STARTED = {SocialPostStatus.SCHEDULED, SocialPostStatus.CANCELLED}


# Computed, not columns: the post's targets, and whether a target is overdue (publishing/overdue.py).
DERIVED_FIELDS = {"targets", "overdue"}


def post_out(
    post: Post, targets: list[SocialPost], overdue: Mapping[uuid.UUID, Overdue] | None = None
) -> PostOut:
    overdue = overdue or {}
    return PostOut.model_validate(
        {
            **{name: getattr(post, name) for name in PostOut.model_fields if name not in DERIVED_FIELDS},
            "media_ids": [str(m) for m in post.media_ids],
            "targets": [
                {**{name: getattr(t, name) for name in LISTED_TARGET_COLUMNS}, "overdue": overdue.get(t.id)}
                for t in targets
            ],
            "overdue": post_overdue((t.id for t in targets), overdue),
        }
    )


async def targets_overdue(
    connection: psycopg.AsyncConnection[Any],
    targets: Iterable[tuple[uuid.UUID, str, datetime | None]],
    settings: Settings | None,
) -> dict[uuid.UUID, Overdue]:
    """Which of (id, status, scheduled_for) are overdue, and why: no query unless one may be."""
    stalled = settings.worker_stalled_seconds if settings is not None else DEFAULT_STALLED_SECONDS
    return await overdue_of_targets(connection, targets, now=utcnow(), stalled_seconds=stalled)


DEFAULT_STALLED_SECONDS = Settings.model_fields["worker_stalled_seconds"].default
LISTED_POST_COLUMNS = [name for name in PostOut.model_fields if name not in DERIVED_FIELDS]
LISTED_TARGET_COLUMNS = [name for name in SocialPostOut.model_fields if name != "overdue"]


def listed_page(
    rows: list[dict[str, Any]],
    targets: dict[uuid.UUID, list[dict[str, Any]]],
    next_cursor: str | None,
    overdue: Mapping[uuid.UUID, Overdue] | None = None,
) -> ListResponse[PostOut]:
    """A page of posts straight from plain database rows, validated in one call (pydantic's core
    builds every model; one ORM object and one model_validate per post cost several times more).
    A test holds each listed post to the single-post answer."""
    overdue = overdue or {}
    for row in rows:
        row["media_ids"] = [str(m) for m in row["media_ids"]]
        row["targets"] = targets[row["id"]]
        if overdue:
            for target in row["targets"]:
                target["overdue"] = overdue.get(target["id"])
            row["overdue"] = post_overdue((t["id"] for t in row["targets"]), overdue)
    return ListResponse[PostOut].model_validate({"data": rows, "next_cursor": next_cursor})


async def list_posts(
    connection: psycopg.AsyncConnection[Any],
    user_id: uuid.UUID,
    filters: PostFilters,
    *,
    cursor: str | None,
    limit: int,
    settings: Settings | None = None,
) -> ListResponse[PostOut]:
    """One page of the posts `user_id` may see, newest first, or by time for a calendar range."""
    queries = PostListQueries(connection)
    after = decode_cursor(cursor, (datetime, uuid.UUID)) if cursor else None
    rows = await queries.page_rows(user_id, LISTED_POST_COLUMNS, filters, after=after, limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    next_cursor = None
    if more:
        last = page[-1]
        next_cursor = encode_cursor(
            last["scheduled_for" if filters.by_schedule else "created_at"], last["id"]
        )
    targets = await queries.target_rows_for_posts([row["id"] for row in page], LISTED_TARGET_COLUMNS)
    overdue = await targets_overdue(
        connection,
        ((t["id"], t["status"], t["scheduled_for"]) for rows_ in targets.values() for t in rows_),
        settings,
    )
    return listed_page(page, targets, next_cursor, overdue)


def new_target(post_id: uuid.UUID, account: SocialAccount, scheduled_for: datetime | None) -> SocialPost:
    """A target with every column set (its id too): nothing needs reading back after its INSERT."""
    return SocialPost(
        id=new_id(),
        post_id=post_id,
        social_account_id=account.id,
        platform=account.platform,
        status=SocialPostStatus.SCHEDULED,
        scheduled_for=scheduled_for,
        job_id=None,
        platform_post_id=None,
        platform_post_url=None,
        platform_container_id=None,
        published_at=None,
        error=None,
        error_code=None,
        metrics_deleted_at=None,
        next_metrics_at=None,
    )


def resolve_schedule(
    value: datetime | Literal["now"] | None, zone: str, *, field: str = "scheduledFor"
) -> datetime | None:
    """UTC time for a schedule given as an ISO time with offset, a local time in `zone`, or "now"."""
    if value is None:
        return None
    now = utcnow()
    if value == "now":
        return now
    assert isinstance(value, datetime)
    moment = local_to_utc(value, zone, field=field)
    if moment < now - PAST_TOLERANCE:
        raise ValidationFailed(
            'scheduledFor is in the past; pick a future time, "now", or leave it out for a draft',
            code="schedule_in_past",
            details={"field": field, "now": now.isoformat()},
        )
    return max(moment, now)


def _overrides_json(overrides: dict[Platform, PlatformOverride]) -> dict[str, Any]:
    return {
        platform.value: {
            "content": o.content,
            "media_ids": [str(m) for m in o.media_ids] if o.media_ids is not None else None,
            "thread": o.thread,
        }
        for platform, o in overrides.items()
    }


class PostService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.posts = PostRepository(session)

    # ---- create ---------------------------------------------------------------------------

    async def create(
        self, user_id: uuid.UUID, data: PostCreate, idempotency_key: str | None
    ) -> tuple[int, dict[str, Any]]:
        """Returns (status, body) so a replayed Idempotency-Key gets exactly the first answer."""
        if idempotency_key is not None:
            if not 1 <= len(idempotency_key) <= 255:
                raise ValidationFailed(
                    "Idempotency-Key must be 1 to 255 characters", code="invalid_idempotency_key"
                )
            request_hash = hashlib.sha256(
                json.dumps(data.model_dump(mode="json"), sort_keys=True).encode()
            ).hexdigest()
            await self.posts.lock_idempotency_key(user_id, IDEMPOTENCY_SCOPE, idempotency_key)
            record = await self.posts.idempotency_record(user_id, IDEMPOTENCY_SCOPE, idempotency_key)
            if record is not None:
                if record.request_hash != request_hash:
                    raise Conflict(
                        "This Idempotency-Key was used with a different request body",
                        code="idempotency_key_reused",
                    )
                return record.response_status, record.response_body
        post = await self._create(user_id, data)
        body = post.model_dump(mode="json", by_alias=True)
        if idempotency_key is not None:
            self.session.add(
                IdempotencyRecord(
                    user_id=user_id,
                    scope=IDEMPOTENCY_SCOPE,
                    key=idempotency_key,
                    request_hash=request_hash,
                    response_status=201,
                    response_body=body,
                )
            )
            await self.session.flush()
        return 201, body

    async def _create(self, user_id: uuid.UUID, data: PostCreate) -> PostOut:
        action = Action.write_posts if data.scheduled_for is None else Action.publish_posts
        brand, _ = await require_brand(self.session, user_id, data.brand_id, action)
        zone = data.time_zone or brand.time_zone
        scheduled_for = resolve_schedule(data.scheduled_for, zone)
        if scheduled_for is not None:  # publishing waits for a verified address (when required)
            await ensure_email_verified(self.session, self.settings, user_id)
        accounts = await self._target_accounts(
            brand, data.platforms, data.social_account_ids, require_any=scheduled_for is not None
        )
        overrides = _overrides_json(data.overrides)
        media_ids = [str(m) for m in data.media_ids]
        await self._validate_targets(brand, accounts, data.content, media_ids, data.thread, overrides)
        await self._ensure_brand_media(brand, accounts, media_ids, overrides)
        ai_generation_id = await self._check_generation(brand, data.ai_generation_id)

        if scheduled_for is not None:
            await self._ensure_within_plan(brand, accounts)
            await consume_posts(
                self.session, self.settings, await billing_owner_for_brand(self.session, brand)
            )
        # Ids chosen here so the post and its targets go out in one flush; the models fetch their
        # server defaults with RETURNING (eager_defaults), so nothing is read back afterwards.
        post = Post(
            id=new_id(),
            brand_id=brand.id,
            user_id=user_id,
            content=data.content,
            status=PostStatus.SCHEDULED if scheduled_for else PostStatus.DRAFT,
            scheduled_for=scheduled_for,
            time_zone=zone,
            platforms=sorted({a.platform for a in accounts}),
            overrides=overrides,
            thread=list(data.thread),
            media_ids=media_ids,
            ai_generated=ai_generation_id is not None,
            ai_generation_id=ai_generation_id,
            published_at=None,
        )
        targets = [new_target(post.id, account, scheduled_for) for account in accounts]
        if scheduled_for is not None:
            # The jobs need only the targets' ids: deferred first, their ids go in with the INSERT.
            for target in targets:
                await schedule_target(self.session, target, scheduled_for)
        # Two flushes: without a relationship() between them, the unit of work does not promise to
        # insert the post before its targets.
        self.session.add(post)
        await self.session.flush()
        self.session.add_all(targets)
        await self.session.flush()
        return post_out(post, targets)

    async def _add_target(
        self, post: Post, account: SocialAccount, scheduled_for: datetime | None
    ) -> SocialPost:
        target = new_target(post.id, account, scheduled_for)
        self.session.add(target)
        if scheduled_for is not None:
            await schedule_target(self.session, target, scheduled_for)
        await self.session.flush()
        return target

    async def _target_accounts(
        self,
        brand: Brand,
        platforms: list[Platform] | None,
        account_ids: list[uuid.UUID] | None,
        *,
        require_any: bool,
    ) -> list[SocialAccount]:
        accounts = await self.posts.accounts_of_brand(brand.id)
        by_id = {a.id: a for a in accounts}
        chosen: dict[uuid.UUID, SocialAccount] = {}
        problems: list[dict[str, Any]] = []
        for account_id in account_ids or []:
            account = by_id.get(account_id)
            if account is None:
                problems.append(
                    {
                        "field": "body.socialAccountIds",
                        "message": f"{account_id} is not an account of this brand",
                    }
                )
            else:
                chosen[account.id] = account
        for platform in platforms or []:
            matching = [a for a in accounts if a.platform == platform]
            if not matching:
                problems.append(
                    {
                        "field": "body.platforms",
                        "message": f"This brand has no {platform.value} account connected",
                    }
                )
            for account in matching:
                chosen[account.id] = account
        if problems:
            raise ValidationFailed(
                "Some targets are not accounts of this brand", code="invalid_targets", details=problems
            )
        disconnected = [a for a in chosen.values() if a.status != SocialAccountStatus.CONNECTED]
        if disconnected and require_any:
            raise ValidationFailed(
                "Reconnect these accounts before scheduling: "
                + ", ".join(f"{a.platform} {a.username or a.platform_user_id}" for a in disconnected),
                code="account_disconnected",
                details=[{"socialAccountId": str(a.id), "status": a.status} for a in disconnected],
            )
        if require_any and not chosen:
            raise ValidationFailed(
                "Choose at least one account or platform to publish to",
                code="no_targets",
                details=[{"field": "body.platforms", "message": "required to schedule"}],
            )
        return list(chosen.values())

    async def _validate_targets(
        self,
        brand: Brand,
        accounts: list[SocialAccount],
        content: str,
        media_ids: list[str],
        thread: list[str],
        overrides: dict[str, Any],
    ) -> None:
        issues: list[dict[str, Any]] = []
        for platform in sorted({a.platform for a in accounts}):
            media = await self._media_kinds(brand.id, media_for(platform, media_ids, overrides))
            result = validate_content(
                platform,
                content_for(platform, content, overrides),
                media=media,
                thread=thread_for(platform, thread, overrides),
            )
            issues += [{"platform": platform, "code": i.code, "message": i.message} for i in result.issues]
        if issues:
            raise ValidationFailed(
                "The content does not meet the networks' rules: " + "; ".join(i["message"] for i in issues),
                code="content_invalid",
                details=issues,
            )

    async def _ensure_within_plan(self, brand: Brand, accounts: list[SocialAccount]) -> None:
        """After a downgrade, brands and accounts over the plan stay readable but take no new
        scheduled posts (drafts are still fine)."""
        owner = await billing_owner_for_brand(self.session, brand)
        await ensure_brand_within_plan(self.session, self.settings, owner, brand)
        for account in accounts:
            await ensure_account_within_plan(self.session, self.settings, owner, account)

    async def _ensure_brand_media(
        self, brand: Brand, accounts: list[SocialAccount], media_ids: list[str], overrides: dict[str, Any]
    ) -> None:
        """Every media id a post stores (its own and each network override's) is one of its brand's
        assets, with or without targets: 422 unknown_media otherwise, as for a made-up id.
        `_validate_targets` has read those of the targets' networks; this reads the rest (a draft
        without targets, an override for a network not targeted), in one query or none."""
        checked = {m for a in accounts for m in media_for(a.platform, media_ids, overrides)}
        stored = [*media_ids, *(str(m) for o in overrides.values() if o for m in o.get("media_ids") or [])]
        rest = [m for m in dict.fromkeys(stored) if m not in checked]
        if rest:
            await self._media_kinds(brand.id, rest)

    async def _media_kinds(self, brand_id: uuid.UUID, media_ids: list[str]) -> list[tuple[str, str]]:
        if not media_ids:
            return []
        from t21.media.service import media_kinds_for

        return await media_kinds_for(self.session, brand_id, media_ids)

    async def _check_generation(self, brand: Brand, generation_id: uuid.UUID | None) -> uuid.UUID | None:
        if generation_id is None:
            return None
        generation = await self.session.get(AIGeneration, generation_id)
        if generation is None or generation.brand_id != brand.id:
            raise ValidationFailed(
                "aiGenerationId is not a generation of this brand",
                code="invalid_generation",
                details=[{"field": "body.aiGenerationId", "message": "unknown generation"}],
            )
        return generation.id

    # ---- read -----------------------------------------------------------------------------

    async def get(self, user: User, post_id: uuid.UUID) -> PostOut:
        post = await self._visible(user, post_id)
        targets = await self.posts.targets(post.id)
        return post_out(post, targets, await self._overdue(targets))

    async def _overdue(self, targets: list[SocialPost]) -> dict[uuid.UUID, Overdue]:
        return await targets_overdue(
            await raw_connection(self.session),
            ((t.id, t.status, t.scheduled_for) for t in targets),
            self.settings,
        )

    async def _visible(self, user: User, post_id: uuid.UUID, *, for_update: bool = False) -> Post:
        post = await self.posts.get_visible(user.id, post_id, for_update=for_update)
        if post is None:
            raise NotFound("Post not found", code="post_not_found")
        return post

    async def _writable(
        self, user: User, post_id: uuid.UUID, action: Action
    ) -> tuple[Post, Brand, list[SocialPost]]:
        """The post and its targets, locked in the documented order (db/locking.py): the post,
        its targets' publish jobs, then its targets by id. The engine claims a target under the
        target's row lock, so an edit and a publish cannot both win."""
        # A change to a post (edit, move, cancel, retry, publish now) writes only through this
        # session: if it loses a deadlock to the worker, the request may be run again whole.
        allow_replay(self.session)
        post = await self._visible(user, post_id, for_update=True)
        brand, _ = await require_brand(self.session, user.id, post.brand_id, action)
        await self.posts.lock_publish_jobs(post.id)
        targets = await self.posts.targets(post.id, for_update=True)
        return post, brand, targets

    # ---- change ---------------------------------------------------------------------------

    async def update(self, user: User, post_id: uuid.UUID, data: PostUpdate) -> PostOut:
        scheduling = "scheduled_for" in data.model_fields_set and data.scheduled_for is not None
        action = Action.publish_posts if scheduling else Action.write_posts
        post, brand, targets = await self._writable(user, post_id, action)
        if post.status not in EDITABLE or any(t.status not in NOT_STARTED for t in targets):
            raise Conflict(
                f"This post is {post.status.lower().replace('_', ' ')} and can no longer be edited",
                code="post_not_editable",
                details={"status": post.status},
            )
        fields = data.model_fields_set
        if "content" in fields and data.content is not None:
            post.content = data.content
        if "thread" in fields and data.thread is not None:
            post.thread = list(data.thread)
        if "media_ids" in fields and data.media_ids is not None:
            post.media_ids = [str(m) for m in data.media_ids]
        if "overrides" in fields and data.overrides is not None:
            post.overrides = _overrides_json(data.overrides)
        if data.time_zone:
            post.time_zone = data.time_zone
        was_scheduled = post.scheduled_for is not None and post.status == PostStatus.SCHEDULED
        new_schedule = post.scheduled_for if was_scheduled else None
        if data.unschedule:
            new_schedule = None
        elif "scheduled_for" in fields and data.scheduled_for is not None:
            new_schedule = resolve_schedule(data.scheduled_for, post.time_zone or brand.time_zone)
            await ensure_email_verified(self.session, self.settings, user.id)

        if "social_account_ids" in fields and data.social_account_ids is not None:
            targets = await self._replace_targets(post, brand, targets, data.social_account_ids)
        accounts = [await self._account(t.social_account_id) for t in targets]
        if new_schedule is not None and not targets:
            raise ValidationFailed("Choose at least one account to publish to", code="no_targets")
        await self._validate_targets(
            brand, accounts, post.content, list(post.media_ids), list(post.thread), post.overrides
        )
        await self._ensure_brand_media(brand, accounts, [str(m) for m in post.media_ids], post.overrides)
        if new_schedule is not None and any(a.status != SocialAccountStatus.CONNECTED for a in accounts):
            raise ValidationFailed(
                "Reconnect the post's accounts before scheduling it", code="account_disconnected"
            )

        if new_schedule is not None:
            await self._ensure_within_plan(brand, accounts)
        owner = await billing_owner_for_brand(self.session, brand)
        if new_schedule is not None and not was_scheduled:
            await consume_posts(self.session, self.settings, owner)
        elif new_schedule is None and was_scheduled:
            await release_posts(self.session, owner)

        post.scheduled_for = new_schedule
        post.status = PostStatus.SCHEDULED if new_schedule else PostStatus.DRAFT
        post.platforms = sorted({a.platform for a in accounts})
        for target in targets:
            # The job moves with the post: the old one is cancelled, a new one is written.
            await cancel_target_job(self.session, target)
            target.status = SocialPostStatus.SCHEDULED
            target.scheduled_for = new_schedule
            if new_schedule is not None:
                await schedule_target(self.session, target, new_schedule)
        return await self._fresh_out(post, targets)

    async def _fresh_out(self, post: Post, targets: list[SocialPost]) -> PostOut:
        """Flush, then reload server-set columns (updated_at) before serialising."""
        await self.session.flush()
        await self.session.refresh(post)
        for target in targets:
            await self.session.refresh(target)
        return post_out(post, targets, await self._overdue(targets))

    async def _account(self, account_id: uuid.UUID) -> SocialAccount:
        account = await self.session.get(SocialAccount, account_id)
        assert account is not None
        return account

    async def _replace_targets(
        self, post: Post, brand: Brand, targets: list[SocialPost], account_ids: list[uuid.UUID]
    ) -> list[SocialPost]:
        wanted = await self._target_accounts(brand, None, account_ids, require_any=False)
        wanted_ids = {a.id for a in wanted}
        kept = []
        for target in targets:
            if target.social_account_id in wanted_ids:
                kept.append(target)
            else:
                await cancel_target_job(self.session, target)
                await self.session.delete(target)
        have = {t.social_account_id for t in kept}
        for account in wanted:
            if account.id not in have:
                kept.append(await self._add_target(post, account, None))
        await self.session.flush()
        return kept

    async def cancel_or_delete(self, user: User, post_id: uuid.UUID) -> PostOut | None:
        """Scheduled → CANCELLED (kept, quota given back). Draft, cancelled or failed → deleted.
        Anything published or publishing cannot be undone here."""
        post, brand, targets = await self._writable(user, post_id, Action.write_posts)
        if any(t.status not in NOT_STARTED | {SocialPostStatus.FAILED} for t in targets):
            raise Conflict(
                "Published or publishing posts cannot be cancelled",
                code="post_not_cancellable",
                details={"status": post.status},
            )
        if post.status == PostStatus.SCHEDULED:
            for target in targets:
                await cancel_target_job(self.session, target)
                target.status = SocialPostStatus.CANCELLED
            post.status = PostStatus.CANCELLED
            await release_posts(self.session, await billing_owner_for_brand(self.session, brand))
            return await self._fresh_out(post, targets)
        await self.session.delete(post)
        return None

    async def duplicate(self, user: User, post_id: uuid.UUID) -> PostOut:
        source = await self._visible(user, post_id)
        brand, _ = await require_brand(self.session, user.id, source.brand_id, Action.write_posts)
        copy = Post(
            brand_id=brand.id,
            user_id=user.id,
            content=source.content,
            status=PostStatus.DRAFT,
            time_zone=source.time_zone,
            platforms=list(source.platforms),
            overrides=dict(source.overrides),
            thread=list(source.thread),
            media_ids=list(source.media_ids),
            ai_generated=source.ai_generated,
            ai_generation_id=source.ai_generation_id,
        )
        self.session.add(copy)
        await self.session.flush()
        targets = []
        for target in await self.posts.targets(source.id):
            targets.append(await self._add_target(copy, await self._account(target.social_account_id), None))
        await self.session.refresh(copy)
        return post_out(copy, targets)

    async def publish_now(self, user: User, post_id: uuid.UUID) -> PostOut:
        post = await self._visible(user, post_id)
        return await self.update(user, post.id, PostUpdate(scheduled_for="now"))

    async def retry(self, user: User, post_id: uuid.UUID, data: RetryRequest) -> PostOut:
        post, _, targets = await self._writable(user, post_id, Action.publish_posts)
        retryable = {SocialPostStatus.FAILED}
        if data.include_unknown:
            retryable.add(SocialPostStatus.UNKNOWN)
        if data.republish_published:
            retryable.add(SocialPostStatus.PUBLISHED)
        chosen = [t for t in targets if (data.target_ids is None or t.id in data.target_ids)]
        to_retry = [t for t in chosen if t.status in retryable]
        if not to_retry:
            hint = ""
            if any(t.status == SocialPostStatus.UNKNOWN for t in chosen):
                hint = " Some targets may already be live (UNKNOWN): send includeUnknown to re-send them."
            if any(t.status == SocialPostStatus.PUBLISHED for t in chosen):
                hint += " Published targets need republishPublished to be sent again."
            raise Conflict(
                "Nothing to retry: only failed targets are retried." + hint,
                code="nothing_to_retry",
                details={"statuses": {str(t.id): t.status for t in chosen}},
            )
        accounts = {t.id: await self._account(t.social_account_id) for t in to_retry}
        disconnected = [a for a in accounts.values() if a.status != SocialAccountStatus.CONNECTED]
        if disconnected:
            raise ValidationFailed(
                "Reconnect the account before retrying",
                code="account_disconnected",
                details=[{"socialAccountId": str(a.id)} for a in disconnected],
            )
        now = utcnow()
        for target in to_retry:
            if target.status == SocialPostStatus.PUBLISHED:
                # A deliberate second copy: forget the first one's ids.
                target.platform_post_id = None
                target.platform_post_url = None
                target.thread_post_ids = []
                target.published_at = None
            target.status = SocialPostStatus.SCHEDULED
            target.error = None
            target.error_code = None
            target.scheduled_for = now
            await schedule_target(self.session, target, now)
        post.status = PostStatus.SCHEDULED
        return await self._fresh_out(post, targets)

    # ---- validate -------------------------------------------------------------------------

    async def validate(self, user_id: uuid.UUID, data: ValidateRequest) -> ValidateResponse:
        media: list[tuple[str, str]] = [(m.kind, m.content_type) for m in data.media]
        if data.media_ids:
            if data.brand_id is None:
                raise ValidationFailed(
                    "mediaIds need brandId",
                    code="brand_required",
                    details=[{"field": "body.brandId", "message": "required with mediaIds"}],
                )
            await require_brand(self.session, user_id, data.brand_id, Action.view_media)
            media += await self._media_kinds(data.brand_id, [str(m) for m in data.media_ids])
        overrides = _overrides_json(data.overrides)
        results: dict[str, PlatformValidation] = {}
        for platform in data.platforms:
            result = validate_content(
                platform,
                content_for(platform.value, data.content, overrides),
                media=media,
                thread=thread_for(platform.value, data.thread, overrides),
            )
            results[platform.value] = PlatformValidation(
                platform=platform.value,
                length=result.length,
                limit=result.limit,
                hashtags=result.hashtags,
                ok=result.ok,
                issues=[ValidationIssueOut(code=i.code, message=i.message) for i in result.issues],
            )
        return ValidateResponse(ok=all(r.ok for r in results.values()), results=results)
