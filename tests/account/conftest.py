"""Helpers of the account tests (export, deletion): rows seeded as the engine leaves them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from t21.db.session import transaction
from t21.enums import Platform, PostStatus, SocialAccountStatus, SocialPostStatus
from t21.posts.models import Post, SocialPost
from t21.social_accounts.models import SocialAccount


async def seed_post(
    db: Any,
    brand_id: str,
    *,
    content: str,
    remote_id: str | None = None,
    status: PostStatus = PostStatus.PUBLISHED,
    scheduled_for: datetime | None = None,
    account_id: uuid.UUID | None = None,
    access_token_encrypted: str | None = None,
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A post with one X target (published with `remote_id`, or scheduled). Returns the ids of
    the post, the target and the account."""
    async with transaction(db.sessionmaker) as session:
        if account_id is None:
            account = SocialAccount(
                brand_id=uuid.UUID(brand_id),
                platform=Platform.x,
                platform_user_id=f"u-{uuid.uuid4().hex[:8]}",
                username="acme",
                status=SocialAccountStatus.CONNECTED,
                access_token_encrypted=access_token_encrypted,
            )
            session.add(account)
            await session.flush()
            account_id = account.id
        published = status is PostStatus.PUBLISHED
        post = Post(
            brand_id=uuid.UUID(brand_id),
            content=content,
            status=status,
            platforms=["x"],
            scheduled_for=scheduled_for,
            published_at=datetime.now(UTC) if published else None,
        )
        session.add(post)
        await session.flush()
        target = SocialPost(
            post_id=post.id,
            social_account_id=account_id,
            platform=Platform.x,
            status=SocialPostStatus.PUBLISHED if published else SocialPostStatus.SCHEDULED,
            scheduled_for=scheduled_for,
            platform_post_id=remote_id,
            platform_post_url=f"https://x.example/acme/status/{remote_id}" if remote_id else None,
            published_at=datetime.now(UTC) if published else None,
        )
        session.add(target)
        await session.flush()
        return post.id, target.id, account_id
