"""Instagram Graph API connector (Instagram Login): containers, carousels, reels, insights.

Publishing is two calls: create a container (Meta fetches the media from its public URL), wait
until it is FINISHED, then `media_publish` it. Only `media_publish` is irreversible; the container
id is handed to `progress.container_created` at once so a retry publishes that container instead of
creating a second one (a container publishes at most once).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from t21.enums import Platform
from t21.platforms.base import (
    AccountProfile,
    ErrorKind,
    MediaFile,
    PlatformError,
    PostMetrics,
    PublishProgress,
    PublishRequest,
    PublishResult,
    RecentPost,
    TokenSet,
    ValidationIssue,
    ValidationResult,
)
from t21.platforms.text import code_point_length, hashtags, mentions, normalise
from t21.platforms.transport import HttpConnector, body_of, server_side_error

CAPTION_LIMIT = 2200
MAX_HASHTAGS = 30
MAX_MENTIONS = 20
MAX_CAROUSEL = 10
IMAGE_TYPES = frozenset({"image/jpeg"})
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime"})
THROTTLE_CODES = frozenset({4, 17, 32, 613})
TOKEN_INVALID_CODE = 190
TOKEN_EXPIRED_SUBCODE = 463
PUBLISH_LIMIT_SUBCODE = 2207042
NONEXISTENT_OBJECT = (100, 33)
THROTTLE_DEFAULT_WAIT = 60.0
# The 24-hour publishing quota rolls: look again in an hour rather than hammering it.
QUOTA_WAIT = 3600.0
INSIGHT_METRICS = "views,reach,likes,comments,shares,saved,total_interactions"
RECENT_MAX_PAGES = 5
# Instagram takes the authorization code at api.instagram.com, not at the www host that shows the
# consent page; an emulator or proxy given as auth base serves both.
INSTAGRAM_CONSENT_HOST = "www.instagram.com"
INSTAGRAM_CODE_EXCHANGE_URL = "https://api.instagram.com/oauth/access_token"


def _error_of(body: Any) -> dict[str, Any]:
    if isinstance(body, dict):
        if isinstance(body.get("error"), dict):
            return dict(body["error"])
        # The code-exchange endpoint answers in an older flat shape.
        if "error_message" in body or "error_type" in body:
            return {
                "message": body.get("error_message"),
                "type": body.get("error_type"),
                "code": body.get("code"),
            }
    return {}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _throttle_wait(response: httpx.Response) -> float:
    """Meta reports `estimated_time_to_regain_access` (minutes) in its usage headers when throttled."""
    for header in ("x-business-use-case-usage", "x-app-usage", "x-ad-account-usage"):
        raw = response.headers.get(header)
        if not raw:
            continue
        try:
            usage = json.loads(raw)
        except ValueError:
            continue
        entries = [usage] if isinstance(usage, dict) and "call_count" in usage else []
        if isinstance(usage, dict) and not entries:
            for value in usage.values():
                entries.extend(value if isinstance(value, list) else [value])
        minutes = [_int(e.get("estimated_time_to_regain_access")) for e in entries if isinstance(e, dict)]
        known = [m for m in minutes if m]
        if known:
            return max(known) * 60.0
    return THROTTLE_DEFAULT_WAIT


def classify(response: httpx.Response, irreversible: bool) -> PlatformError:
    body = body_of(response)
    error = _error_of(body)
    code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
    message = str(error.get("error_user_msg") or error.get("message") or body)[:500]
    platform_code = f"{code}/{subcode}" if subcode else (str(code) if code is not None else None)

    def fail(kind: ErrorKind, text: str, retry_after: float | None = None) -> PlatformError:
        return PlatformError(
            kind,
            text,
            platform=Platform.instagram,
            status_code=response.status_code,
            retry_after=retry_after,
            platform_code=platform_code,
            raw=body,
        )

    if code in THROTTLE_CODES or response.status_code == 429:
        return fail(
            ErrorKind.RATE_LIMITED, f"Instagram is throttling T21: {message}", _throttle_wait(response)
        )
    if subcode == PUBLISH_LIMIT_SUBCODE:
        return fail(
            ErrorKind.RATE_LIMITED, f"Instagram's 24-hour publishing limit is reached: {message}", QUOTA_WAIT
        )
    if code == TOKEN_INVALID_CODE or response.status_code == 401:
        expired = subcode == TOKEN_EXPIRED_SUBCODE or "expired" in message.lower()
        kind = ErrorKind.TOKEN_EXPIRED if expired else ErrorKind.TOKEN_REVOKED
        return fail(kind, f"Instagram refused the access token: {message}")
    if response.status_code >= 500:
        return server_side_error(response, Platform.instagram, irreversible, message)
    if error.get("is_transient") is True:
        kind = ErrorKind.UNKNOWN_OUTCOME if irreversible else ErrorKind.TRANSIENT
        return fail(kind, f"Instagram had a passing problem: {message}")
    return fail(ErrorKind.CONTENT_REJECTED, message)


def classify_token_endpoint(response: httpx.Response, irreversible: bool) -> PlatformError:
    error = classify(response, irreversible)
    if error.kind in (ErrorKind.TOKEN_EXPIRED, ErrorKind.CONTENT_REJECTED) and response.status_code < 500:
        # A token that cannot be exchanged or refreshed any more only comes back by reconnecting.
        error.kind = ErrorKind.TOKEN_REVOKED
        error.message = f"Instagram would not renew the access token ({error.message}); reconnect the account"
    return error


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    # Graph timestamps look like 2026-11-25T09:46:20+0000.
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")


def _caption_key(text: str) -> str:
    return " ".join(normalise(text).split())


class InstagramConnector(HttpConnector):
    classify_api = staticmethod(classify)
    classify_token = staticmethod(classify_token_endpoint)
    platform = Platform.instagram
    # Seconds between status polls while the network processes media.
    default_poll_interval = 2.0
    uses_pkce = False
    # The container's status reads PUBLISHED at once, but the media may take a while to show in
    # the account's media list: reconciliation waits this long before it gives up finding it.
    settle_seconds = 30.0
    scopes = (
        "instagram_business_basic",
        "instagram_business_content_publish",
        "instagram_business_manage_insights",
    )

    # --- OAuth -----------------------------------------------------------------------------

    def authorization_url(self, *, state: str, code_challenge: str | None) -> str:
        query = {
            "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_uri,
            "response_type": "code",
            "scope": ",".join(self.scopes),
            "state": state,
        }
        return f"{self.config.auth_base.rstrip('/')}/authorize?{urlencode(query)}"

    def _code_exchange_url(self) -> str:
        auth_base = self.config.auth_base.rstrip("/")
        if urlsplit(auth_base).hostname == INSTAGRAM_CONSENT_HOST:
            return INSTAGRAM_CODE_EXCHANGE_URL
        return f"{auth_base}/access_token"

    async def exchange_code(self, *, code: str, code_verifier: str | None) -> TokenSet:
        short = await self.token_transport.json(
            "POST",
            self._code_exchange_url(),
            data={
                "client_id": self.config.client_id,
                "client_secret": self.config.client_secret or "",
                "grant_type": "authorization_code",
                "redirect_uri": self.config.redirect_uri,
                "code": code,
            },
        )
        # Newer answers wrap the token in `data: [...]`, older ones are flat.
        grant = short["data"][0] if isinstance(short.get("data"), list) else short
        permissions = grant.get("permissions", [])
        scopes = permissions.split(",") if isinstance(permissions, str) else list(permissions)
        # The short-lived token lasts an hour; swap it for the 60-day one straight away.
        long_lived = await self.token_transport.json(
            "GET",
            f"{self.api}/access_token",
            params={
                "grant_type": "ig_exchange_token",
                "client_secret": self.config.client_secret or "",
                "access_token": grant["access_token"],
            },
        )
        return self._token_set(long_lived, scopes)

    async def refresh_token(self, tokens: TokenSet) -> TokenSet:
        # Instagram refreshes the long-lived access token itself; there is no separate refresh token.
        body = await self.token_transport.json(
            "GET",
            f"{self.api}/refresh_access_token",
            params={"grant_type": "ig_refresh_token", "access_token": tokens.access_token},
        )
        return self._token_set(body, tokens.scopes)

    @staticmethod
    def _token_set(body: dict[str, Any], scopes: list[str]) -> TokenSet:
        expires_in = _int(body.get("expires_in"))
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=None,
            expires_at=datetime.now(UTC) + timedelta(seconds=expires_in) if expires_in else None,
            scopes=scopes,
        )

    def _bearer(self, access_token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {access_token}"}

    async def get_profile(self, access_token: str) -> AccountProfile:
        me = await self.transport.json(
            "GET",
            f"{self.api}/me",
            params={"fields": "user_id,username,name,profile_picture_url"},
            headers=self._bearer(access_token),
        )
        return AccountProfile(
            platform_user_id=str(me["user_id"]),
            username=me.get("username"),
            display_name=me.get("name"),
            avatar_url=me.get("profile_picture_url"),
        )

    # --- publishing ----------------------------------------------------------------------------

    async def publish(
        self, *, access_token: str, account_id: str, request: PublishRequest, progress: PublishProgress
    ) -> PublishResult:
        if not request.media:
            raise PlatformError(
                ErrorKind.CONTENT_REJECTED,
                "Instagram posts need at least one image or video",
                platform=Platform.instagram,
            )
        headers = self._bearer(access_token)
        container_id = request.existing_container_id
        if container_id is not None:
            status = await self._container_status(container_id, headers)
            if status == "PUBLISHED":
                media_id = await self._find_published(access_token, account_id, request.text)
                if media_id is None:
                    raise PlatformError(
                        ErrorKind.UNKNOWN_OUTCOME,
                        f"container {container_id} is published but no recent post carries its caption",
                        platform=Platform.instagram,
                    )
                return PublishResult(platform_post_id=media_id, url=await self._permalink(media_id, headers))
            if status in ("ERROR", "EXPIRED"):
                container_id = None
        if container_id is None:
            await self._check_quota(account_id, headers)
            container_id = await self._create_container(account_id, request, headers)
            await progress.container_created(container_id)
        await self._wait_finished(container_id, headers)
        body = await self.transport.json(
            "POST",
            f"{self.api}/{account_id}/media_publish",
            data={"creation_id": container_id},
            headers=headers,
            irreversible=True,
        )
        media_id = str(body["id"])
        return PublishResult(platform_post_id=media_id, url=await self._permalink(media_id, headers))

    async def _check_quota(self, account_id: str, headers: dict[str, str]) -> None:
        body = await self.transport.json(
            "GET",
            f"{self.api}/{account_id}/content_publishing_limit",
            params={"fields": "quota_usage,config"},
            headers=headers,
        )
        for entry in body.get("data", []):
            used, total = _int(entry.get("quota_usage")), _int(entry.get("config", {}).get("quota_total"))
            if used is not None and total is not None and used >= total:
                raise PlatformError(
                    ErrorKind.RATE_LIMITED,
                    f"Instagram's publishing limit of {total} posts per 24 hours is reached",
                    platform=Platform.instagram,
                    retry_after=QUOTA_WAIT,
                    platform_code=str(PUBLISH_LIMIT_SUBCODE),
                )

    async def _create_container(
        self, account_id: str, request: PublishRequest, headers: dict[str, str]
    ) -> str:
        url = f"{self.api}/{account_id}/media"
        if len(request.media) == 1:
            fields = {**self._media_fields(request.media[0]), "caption": request.text}
            return str((await self.transport.json("POST", url, data=fields, headers=headers))["id"])
        children = []
        for media in request.media:
            child = await self.transport.json(
                "POST", url, data={**self._media_fields(media, carousel_item=True)}, headers=headers
            )
            children.append(str(child["id"]))
        for child_id in children:
            await self._wait_finished(child_id, headers)
        parent = await self.transport.json(
            "POST",
            url,
            data={"media_type": "CAROUSEL", "children": ",".join(children), "caption": request.text},
            headers=headers,
        )
        return str(parent["id"])

    @staticmethod
    def _media_fields(media: MediaFile, *, carousel_item: bool = False) -> dict[str, str]:
        fields: dict[str, str]
        if media.kind == "video":
            fields = {"media_type": "VIDEO" if carousel_item else "REELS", "video_url": media.public_url}
        else:
            fields = {"image_url": media.public_url}
            if media.alt_text:
                fields["alt_text"] = media.alt_text
        if carousel_item:
            fields["is_carousel_item"] = "true"
        return fields

    async def _container(self, container_id: str, headers: dict[str, str]) -> dict[str, Any]:
        body: dict[str, Any] = await self.transport.json(
            "GET", f"{self.api}/{container_id}", params={"fields": "status_code,status"}, headers=headers
        )
        return body

    async def _container_status(self, container_id: str, headers: dict[str, str]) -> str:
        return str((await self._container(container_id, headers)).get("status_code", ""))

    async def _wait_finished(self, container_id: str, headers: dict[str, str]) -> None:
        async def finished() -> bool:
            body = await self._container(container_id, headers)
            status = body.get("status_code")
            if status in ("ERROR", "EXPIRED", "PUBLISHED"):
                raise PlatformError(
                    ErrorKind.CONTENT_REJECTED,
                    f"Instagram container {container_id} is {status}: {body.get('status') or 'no details'}",
                    platform=Platform.instagram,
                    raw=body,
                )
            return status == "FINISHED"

        if await self.poll_until_ready(finished):
            return
        # Nothing is published yet and the container is kept: the next attempt resumes with it.
        raise PlatformError(
            ErrorKind.TRANSIENT,
            f"Instagram was still processing container {container_id}",
            platform=Platform.instagram,
        )

    async def _permalink(self, media_id: str, headers: dict[str, str]) -> str | None:
        if self.config.sandbox:
            return None
        try:
            body = await self.transport.json(
                "GET", f"{self.api}/{media_id}", params={"fields": "permalink"}, headers=headers
            )
        except PlatformError:
            return None  # the post is published; a missing link must not turn that into a failure
        permalink = body.get("permalink")
        return str(permalink) if permalink else None

    async def _find_published(self, access_token: str, account_id: str, caption: str) -> str | None:
        wanted = _caption_key(caption)
        since = datetime.now(UTC) - timedelta(days=2)
        for post in await self.recent_posts(access_token=access_token, account_id=account_id, since=since):
            if _caption_key(post.text) == wanted:
                return post.platform_post_id
        return None

    async def container_status(self, *, access_token: str, container_id: str) -> str | None:
        return await self._container_status(container_id, self._bearer(access_token))

    def posts_page_url(self, *, platform_user_id: str, username: str | None) -> str:
        return f"https://www.instagram.com/{username}/" if username else "https://www.instagram.com/"

    async def container_published_id(
        self,
        *,
        access_token: str,
        container_id: str,
        account_id: str | None = None,
        caption: str | None = None,
    ) -> str | None:
        """The media id if `container_id` was published, else None.

        Graph answers only the container's status; the media it became is found among the account's
        recent media by caption, so pass `account_id` and `caption`. Published but unmatched (or
        called without them) raises UNKNOWN_OUTCOME rather than claiming it was not published.
        """
        status = await self._container_status(container_id, self._bearer(access_token))
        if status != "PUBLISHED":
            return None
        media_id = None
        if account_id is not None and caption is not None:
            media_id = await self._find_published(access_token, account_id, caption)
        if media_id is None:
            raise PlatformError(
                ErrorKind.UNKNOWN_OUTCOME,
                f"Instagram container {container_id} is published; match it among recent posts by caption",
                platform=Platform.instagram,
            )
        return media_id

    # --- reading back ------------------------------------------------------------------------

    async def recent_posts(self, *, access_token: str, account_id: str, since: datetime) -> list[RecentPost]:
        posts: list[RecentPost] = []
        # Graph timestamps have whole seconds: a post made in the same second as `since` counts.
        since = since.replace(microsecond=0)
        url: str | None = f"{self.api}/{account_id}/media"
        params: dict[str, str] | None = {"fields": "id,caption,timestamp", "limit": "50"}
        for _ in range(RECENT_MAX_PAGES):
            if url is None:
                break
            body = await self.transport.json("GET", url, params=params, headers=self._bearer(access_token))
            older_seen = False
            for media in body.get("data", []):
                created = _parse_time(media.get("timestamp"))
                if created is not None and created < since:
                    older_seen = True
                    continue
                posts.append(RecentPost(str(media["id"]), media.get("caption", ""), created))
            # Media come newest first, so a page reaching past `since` is the last one needed.
            url = None if older_seen else body.get("paging", {}).get("next")
            params = None
        return posts

    async def fetch_metrics(
        self, *, access_token: str, account_id: str, post_ids: list[str]
    ) -> list[PostMetrics]:
        results = []
        for media_id in post_ids:
            try:
                body = await self.transport.json(
                    "GET",
                    f"{self.api}/{media_id}/insights",
                    params={"metric": INSIGHT_METRICS},
                    headers=self._bearer(access_token),
                )
            except PlatformError as exc:
                error = _error_of(exc.raw)
                if (_int(error.get("code")), _int(error.get("error_subcode"))) == NONEXISTENT_OBJECT:
                    results.append(PostMetrics(platform_post_id=media_id, deleted=True, raw=error))
                    continue
                raise
            values = {
                item["name"]: _int((item.get("values") or [{}])[0].get("value")) or 0
                for item in body.get("data", [])
            }
            results.append(
                PostMetrics(
                    platform_post_id=media_id,
                    impressions=values.get("views", 0),
                    reach=values.get("reach"),
                    likes=values.get("likes", 0),
                    comments=values.get("comments", 0),
                    shares=values.get("shares", 0),
                    saves=values.get("saved", 0),
                    raw=body,
                )
            )
        return results

    # --- rules ---------------------------------------------------------------------------------

    def validate(
        self, text: str, *, media: list[tuple[str, str]] | None = None, thread: list[str] | None = None
    ) -> ValidationResult:
        media = media or []
        issues: list[ValidationIssue] = []
        length = code_point_length(text)
        tags = hashtags(text)
        if length > CAPTION_LIMIT:
            issues.append(
                ValidationIssue(
                    "too_long", f"The caption is {length} characters; Instagram allows {CAPTION_LIMIT}."
                )
            )
        if len(tags) > MAX_HASHTAGS:
            issues.append(
                ValidationIssue(
                    "too_many_hashtags", f"{len(tags)} hashtags; Instagram allows {MAX_HASHTAGS}."
                )
            )
        mentioned = mentions(text)
        if len(mentioned) > MAX_MENTIONS:
            issues.append(
                ValidationIssue(
                    "too_many_mentions", f"{len(mentioned)} mentions; Instagram allows {MAX_MENTIONS}."
                )
            )
        if not media:
            issues.append(
                ValidationIssue("media_required", "Instagram posts need at least one image or video.")
            )
        elif len(media) > MAX_CAROUSEL:
            issues.append(
                ValidationIssue(
                    "too_many_media", f"An Instagram carousel holds at most {MAX_CAROUSEL} items."
                )
            )
        for kind, content_type in media:
            if content_type not in (IMAGE_TYPES if kind == "image" else VIDEO_TYPES):
                issues.append(
                    ValidationIssue(
                        "unsupported_media_type",
                        f"Instagram does not take {content_type} {kind}s (images must be JPEG).",
                    )
                )
        if thread:
            issues.append(ValidationIssue("thread_unsupported", "Instagram has no threads."))
        return ValidationResult(
            platform=Platform.instagram, length=length, limit=CAPTION_LIMIT, issues=issues, hashtags=len(tags)
        )
