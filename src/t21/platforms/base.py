"""The one interface every network connector implements, and the small error taxonomy the
publishing engine acts on (DESIGN section 5)."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import httpx

from t21.enums import Platform


class ErrorKind(StrEnum):
    RATE_LIMITED = "rate_limited"  # wait `retry_after` seconds (from the network's headers), then retry
    TOKEN_EXPIRED = "token_expired"  # refresh once, then retry
    TOKEN_REVOKED = "token_revoked"  # account is DISCONNECTED; the user must reconnect
    CONTENT_REJECTED = "content_rejected"  # 4xx about the content: fail at once with the network's message
    TRANSIENT = "transient"  # nothing reached the network (connection refused, DNS): safe to retry
    UNKNOWN_OUTCOME = "unknown_outcome"  # timeout/5xx after sending: reconcile before any retry
    # Reconciliation could not learn whether an unknown attempt went through (its read was refused,
    # not permitted, or inconclusive after a bounded number of reads): the post is UNKNOWN, shown to
    # the user with the network's link to check. Never FAILED, never sent again on its own.
    CANNOT_TELL = "cannot_tell"


class PlatformError(Exception):
    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        platform: Platform | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
        platform_code: str | None = None,
        raw: Any = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.platform = platform
        self.status_code = status_code
        self.retry_after = retry_after
        self.platform_code = platform_code
        self.raw = raw

    def __repr__(self) -> str:
        return f"PlatformError({self.kind}, {self.message!r}, status={self.status_code})"


@dataclass
class TokenSet:
    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None
    refresh_token_expires_at: datetime | None = None
    scopes: list[str] = field(default_factory=list)


@dataclass
class AccountProfile:
    platform_user_id: str
    username: str | None
    display_name: str | None
    avatar_url: str | None = None


@dataclass
class MediaFile:
    """Media to attach. Instagram fetches `public_url` itself; X and LinkedIn get the bytes."""

    kind: str  # "image" | "video"
    content_type: str
    size_bytes: int
    public_url: str
    load: Callable[[], Awaitable[bytes]]
    alt_text: str | None = None


@dataclass
class PublishRequest:
    text: str
    media: list[MediaFile] = field(default_factory=list)
    # X only: the replies that follow `text`, in order.
    thread: list[str] = field(default_factory=list)
    # Resuming a thread: ids of the parts already accepted by the network (first part first).
    already_published: list[str] = field(default_factory=list)
    # Instagram: a container created by an earlier attempt, to check/publish instead of re-creating.
    existing_container_id: str | None = None


class PublishProgress(abc.ABC):
    """Called by connectors the moment the network returns an id, so it is stored before anything
    else can fail (DESIGN section 5, rule 3)."""

    @abc.abstractmethod
    async def container_created(self, container_id: str) -> None: ...

    @abc.abstractmethod
    async def part_published(self, index: int, platform_post_id: str) -> None: ...


class NoProgress(PublishProgress):
    async def container_created(self, container_id: str) -> None:
        return None

    async def part_published(self, index: int, platform_post_id: str) -> None:
        return None


@dataclass
class PublishResult:
    platform_post_id: str  # the first (root) post
    url: str | None
    thread_post_ids: list[str] = field(default_factory=list)  # later parts of an X thread


@dataclass
class RecentPost:
    """A post of the account as the network lists it. `text` is what the author wrote: the
    connector undoes the network's own escaping (X's `&amp;`, LinkedIn's little text), but links
    may come back rewritten (X's t.co)."""

    platform_post_id: str
    text: str
    created_at: datetime | None
    # The post it replies to, when the network says (X: referenced_tweets `replied_to`).
    in_reply_to_id: str | None = None
    # The root of its conversation, when the network says (X: conversation_id).
    conversation_id: str | None = None


@dataclass
class PostMetrics:
    platform_post_id: str
    impressions: int = 0
    reach: int | None = None
    likes: int = 0
    comments: int = 0
    shares: int = 0
    saves: int = 0
    deleted: bool = False
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class ValidationIssue:
    code: str
    message: str


@dataclass
class ValidationResult:
    platform: Platform
    length: int
    limit: int
    issues: list[ValidationIssue] = field(default_factory=list)
    hashtags: int = 0

    @property
    def ok(self) -> bool:
        return not self.issues


@dataclass
class ConnectorConfig:
    client_id: str
    client_secret: str | None
    api_base: str
    auth_base: str
    redirect_uri: str
    api_version: str | None = None  # LinkedIn-Version
    sandbox: bool = False


class Connector(abc.ABC):
    platform: Platform
    uses_pkce: bool = False
    scopes: tuple[str, ...] = ()
    # How long after a call a post it created may take to show in the account's post list
    # (`recent_posts`): a post missing from a read made earlier than this is not proven absent.
    settle_seconds: float = 10.0
    # The longest a call may take (its client timeout): the network may store a post that late.
    call_timeout: float = 0.0

    def __init__(self, config: ConnectorConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.http = http

    @abc.abstractmethod
    def authorization_url(self, *, state: str, code_challenge: str | None) -> str: ...

    @abc.abstractmethod
    async def exchange_code(self, *, code: str, code_verifier: str | None) -> TokenSet: ...

    @abc.abstractmethod
    async def refresh_token(self, tokens: TokenSet) -> TokenSet: ...

    @abc.abstractmethod
    async def get_profile(self, access_token: str) -> AccountProfile: ...

    async def revoke(self, access_token: str) -> None:
        """Best effort; networks without a revoke endpoint do nothing."""
        return None

    @abc.abstractmethod
    async def publish(
        self, *, access_token: str, account_id: str, request: PublishRequest, progress: PublishProgress
    ) -> PublishResult: ...

    @abc.abstractmethod
    async def recent_posts(
        self, *, access_token: str, account_id: str, since: datetime
    ) -> list[RecentPost]: ...

    async def container_published_id(self, *, access_token: str, container_id: str) -> str | None:
        """Instagram only: the media id if this container was already published, else None."""
        return None

    async def container_status(self, *, access_token: str, container_id: str) -> str | None:
        """Instagram only: the container's status_code (IN_PROGRESS, FINISHED, ERROR, EXPIRED,
        PUBLISHED); None for networks without containers."""
        return None

    def posts_page_url(self, *, platform_user_id: str, username: str | None) -> str:
        """Where a person sees the account's own posts on the network (to check by hand an
        outcome T21 could not learn)."""
        raise NotImplementedError

    @abc.abstractmethod
    async def fetch_metrics(
        self, *, access_token: str, account_id: str, post_ids: list[str]
    ) -> list[PostMetrics]: ...

    @abc.abstractmethod
    def validate(
        self, text: str, *, media: list[tuple[str, str]] | None = None, thread: list[str] | None = None
    ) -> ValidationResult:
        """Pure check of content against the network's rules. `media` is [(kind, content_type)]."""
