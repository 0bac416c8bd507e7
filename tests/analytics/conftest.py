"""Analytics tests: the network emulators on loopback (their metrics grow with a post's age on
their own clock), accounts connected through the real OAuth flow, posts really published on the
emulated network, and the collection core called with a chosen `now`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from t21.analytics.collection import CollectionOutcome, collect_account
from t21.db.database import Database
from t21.db.session import transaction
from t21.enums import PostStatus, SocialPostStatus
from t21.jobs.context import JobResources
from t21.platforms.base import MediaFile, NoProgress, PublishRequest
from t21.posts.models import Post, SocialPost
from t21.social_accounts.models import SocialAccount
from t21.social_accounts.tokens import connector_for, read_tokens
from tests.conftest import Account, make_settings
from tests.publishing import conftest as publishing
from tests.publishing.conftest import PUBLISHING_SETTINGS, Networks, connect_account

# The publishing tests' fixtures: emulators on loopback, the sandbox app and its client, a worker.
networks = publishing.networks
fresh_networks = publishing.fresh_networks
pub_app = publishing.pub_app
http = publishing.http
worker = publishing.worker
wait_for = publishing.wait_for

# A fixed Monday morning: T21's clock in these tests (the emulators keep their own).
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def res(
    database_url: str, session_tmp: Any, fresh_networks: Networks, db: Database
) -> AsyncIterator[JobResources]:
    settings = make_settings(database_url, session_tmp, sandbox_url=fresh_networks.url, **PUBLISHING_SETTINGS)
    async with httpx.AsyncClient() as client:
        yield JobResources(settings=settings, db=db, http=client)


@dataclass
class Published:
    post_id: uuid.UUID
    social_post_id: uuid.UUID
    platform_post_id: str
    published_at: datetime


class World:
    """A person, a brand and connected accounts, and helpers to publish and collect."""

    def __init__(
        self,
        res: JobResources,
        networks: Networks,
        http: httpx.AsyncClient,
        who: Account,
        brand: dict[str, Any],
    ) -> None:
        self.res = res
        self.networks = networks
        self.http = http
        self.who = who
        self.brand = brand
        self.brand_id = uuid.UUID(brand["id"])
        self.accounts: dict[str, uuid.UUID] = {}

    async def connect(self, platform: str) -> uuid.UUID:
        account = await connect_account(self.http, self.who, self.brand["id"], platform)
        self.accounts[platform] = uuid.UUID(account["id"])
        return self.accounts[platform]

    async def publish(
        self, platform: str, content: str | None = None, *, published_at: datetime = T0
    ) -> Published:
        """Publish on the emulated network for real, and record it as the engine does on success."""
        content = content or f"Post {uuid.uuid4().hex[:8]}"
        async with transaction(self.res.db.sessionmaker) as session:
            account = await session.get(SocialAccount, self.accounts[platform])
            assert account is not None
            token = read_tokens(self.res.settings, account).access_token
            platform_user_id = account.platform_user_id
        connector = connector_for(self.res.settings, self.res.http, platform, sandbox=True)
        media = []
        if platform == "instagram":

            async def load() -> bytes:
                return b"\xff\xd8"

            media = [
                MediaFile(
                    kind="image",
                    content_type="image/jpeg",
                    size_bytes=2,
                    public_url="https://cdn.example.com/picture.jpg",
                    load=load,
                )
            ]
        result = await connector.publish(
            access_token=token,
            account_id=platform_user_id,
            request=PublishRequest(text=content, media=media),
            progress=NoProgress(),
        )
        async with transaction(self.res.db.sessionmaker) as session:
            post = Post(
                brand_id=self.brand_id,
                user_id=uuid.UUID(self.who.id),
                content=content,
                status=PostStatus.PUBLISHED.value,
                scheduled_for=published_at,
                platforms=[platform],
                published_at=published_at,
            )
            session.add(post)
            await session.flush()
            target = SocialPost(
                post_id=post.id,
                social_account_id=self.accounts[platform],
                platform=platform,
                status=SocialPostStatus.PUBLISHED.value,
                scheduled_for=published_at,
                platform_post_id=result.platform_post_id,
                platform_post_url=result.url,
                published_at=published_at,
                next_metrics_at=published_at + timedelta(hours=1),
            )
            session.add(target)
            await session.flush()
            return Published(post.id, target.id, result.platform_post_id, published_at)

    async def collect(self, platform: str, now: datetime) -> CollectionOutcome:
        return await collect_account(self.res, self.accounts[platform], now=now)

    async def advance_network(self, platform: str, seconds: float) -> None:
        response = await self.networks.control(platform, "clock", {"advance": seconds})
        assert response.status_code == 200, response.text

    async def target(self, social_post_id: uuid.UUID) -> SocialPost:
        async with self.res.db.sessionmaker() as session:
            found = await session.get(SocialPost, social_post_id)
            assert found is not None
            return found

    async def snapshots(self, social_post_id: uuid.UUID) -> list[Any]:
        async with self.res.db.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT * FROM post_analytics WHERE social_post_id = :id ORDER BY date"),
                {"id": social_post_id},
            )
            return list(rows.mappings())

    async def sql(self, query: str, **params: Any) -> list[Any]:
        async with self.res.db.engine.begin() as conn:
            result = await conn.execute(text(query), params)
            return list(result.mappings()) if result.returns_rows else []

    async def targets_of_account(self, platform: str) -> list[SocialPost]:
        async with self.res.db.sessionmaker() as session:
            rows = await session.execute(
                select(SocialPost)
                .where(SocialPost.social_account_id == self.accounts[platform])
                .order_by(SocialPost.created_at)
            )
            return list(rows.scalars())


@pytest.fixture
async def world(res: JobResources, fresh_networks: Networks, http: httpx.AsyncClient, register: Any) -> World:
    who = await register(on=http)
    brand = await who.create_brand()
    return World(res, fresh_networks, http, who, brand)
