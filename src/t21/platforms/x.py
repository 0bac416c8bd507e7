"""X (Twitter) API v2 connector: OAuth 2.0 with PKCE, tweets, threads, v2 media upload, metrics."""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

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
from t21.platforms.text import X_MAX_WEIGHT, hashtags, x_weighted_length
from t21.platforms.transport import (
    HttpConnector,
    body_of,
    seconds_until,
    server_side_error,
)

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime"})
MAX_IMAGES = 4
METRICS_BATCH = 100  # GET /2/tweets takes at most 100 ids
RECENT_PAGE = 100
RECENT_MAX_PAGES = 5
UPLOAD_CHUNK = 4 * 1024 * 1024
RATE_LIMIT_DEFAULT_WAIT = 15 * 60.0


def _problem_message(body: Any) -> str:
    """The human sentence from a problem+json or legacy `{errors:[...]}` body."""
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict) and errors[0].get("message"):
            detail = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
            return (
                f"{body.get('detail') or body.get('title') or 'error'}: {detail}"
                if body.get("detail")
                else detail
            )
        for key in ("detail", "title", "error_description", "error"):
            if body.get(key):
                return str(body[key])
    return str(body)[:300] or "no details"


_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


def unescape_text(text: str) -> str:
    """A tweet's text as its author wrote it: X returns `&`, `<` and `>` HTML-escaped on reads
    (and only those). One pass, so a literal `&amp;` written by the author (read back as
    `&amp;amp;`) stays `&amp;`."""
    return _ENTITY.sub(lambda match: _ENTITIES[match.group(1)], text)


def readable_text(tweet: dict[str, Any]) -> str:
    """A tweet's text from a read, as close to what was sent as X lets us see: unescaped, and
    each t.co link replaced by the URL it stands for when the read carries `entities.urls`
    (without them the t.co links stay; comparisons treat a t.co link as any link)."""
    text = unescape_text(str(tweet.get("text", "")))
    entities = tweet.get("entities")
    urls = entities.get("urls") if isinstance(entities, dict) else None
    for entity in urls if isinstance(urls, list) else []:
        if isinstance(entity, dict) and entity.get("url") and entity.get("expanded_url"):
            text = text.replace(str(entity["url"]), str(entity["expanded_url"]), 1)
    return text


def _replied_to(tweet: dict[str, Any]) -> str | None:
    for reference in tweet.get("referenced_tweets") or []:
        if isinstance(reference, dict) and reference.get("type") == "replied_to":
            return str(reference.get("id"))
    return None


def _retry_after(response: httpx.Response) -> float:
    """X sends no Retry-After: wait until the window that ran out resets (the later one if both did)."""
    waits = [seconds_until(response.headers.get("x-rate-limit-reset"), default=RATE_LIMIT_DEFAULT_WAIT)]
    if response.headers.get("x-user-limit-24hour-remaining") == "0":
        waits.append(seconds_until(response.headers.get("x-user-limit-24hour-reset"), default=0.0))
    return max(waits)


def classify(response: httpx.Response, irreversible: bool) -> PlatformError:
    body = body_of(response)
    message = _problem_message(body)
    status = response.status_code
    if status >= 500:
        return server_side_error(response, Platform.x, irreversible, message)
    if status == 429:
        return PlatformError(
            ErrorKind.RATE_LIMITED,
            f"X rate limit reached: {message}",
            platform=Platform.x,
            status_code=status,
            retry_after=_retry_after(response),
            raw=body,
        )
    if status == 401:
        # X answers 401 alike for expired and revoked access tokens; refreshing tells them apart
        # (a revoked grant fails the refresh with invalid_grant).
        return PlatformError(
            ErrorKind.TOKEN_EXPIRED,
            f"X refused the access token: {message}",
            platform=Platform.x,
            status_code=status,
            raw=body,
        )
    code = body.get("type") if isinstance(body, dict) else None
    return PlatformError(
        ErrorKind.CONTENT_REJECTED,
        message,
        platform=Platform.x,
        status_code=status,
        platform_code=code,
        raw=body,
    )


def classify_token_endpoint(response: httpx.Response, irreversible: bool) -> PlatformError:
    body = body_of(response)
    error = body.get("error") if isinstance(body, dict) else None
    if response.status_code >= 500 or response.status_code == 429 or not error:
        return classify(response, irreversible)
    if error in ("invalid_client", "unauthorized_client"):
        # T21's app credentials are wrong, not the user's grant.
        return PlatformError(
            ErrorKind.CONTENT_REJECTED,
            f"X refused T21's client credentials ({_problem_message(body)}); check T21_X_CLIENT_ID/SECRET",
            platform=Platform.x,
            status_code=response.status_code,
            platform_code=str(error),
            raw=body,
        )
    # invalid_grant / invalid_request: the code or refresh token is dead (used, revoked, expired).
    return PlatformError(
        ErrorKind.TOKEN_REVOKED,
        f"X refused the grant ({_problem_message(body)}); the account must be reconnected",
        platform=Platform.x,
        status_code=response.status_code,
        platform_code=str(error),
        raw=body,
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class XConnector(HttpConnector):
    classify_api = staticmethod(classify)
    classify_token = staticmethod(classify_token_endpoint)
    platform = Platform.x
    # Seconds between status polls while the network processes media.
    default_poll_interval = 1.0
    uses_pkce = True
    # tweet.read also lets reconciliation read the account's recent tweets (GET /2/users/:id/tweets).
    scopes = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")
    # A new tweet shows in its author's timeline read within seconds.
    settle_seconds = 5.0

    # --- OAuth -----------------------------------------------------------------------------

    def authorization_url(self, *, state: str, code_challenge: str | None) -> str:
        if not code_challenge:
            raise ValueError("X requires PKCE: pass the S256 code_challenge")
        query = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_uri,
            "scope": " ".join(self.scopes),
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{self.config.auth_base.rstrip('/')}/authorize?{urlencode(query)}"

    def _client_auth(self) -> dict[str, str]:
        if not self.config.client_secret:
            return {}
        pair = f"{self.config.client_id}:{self.config.client_secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}

    async def _token_call(self, form: dict[str, str]) -> TokenSet:
        body = await self.token_transport.json(
            "POST", f"{self.api}/2/oauth2/token", data=form, headers=self._client_auth()
        )
        expires_in = body.get("expires_in")
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token"),
            expires_at=datetime.now(UTC) + timedelta(seconds=int(expires_in)) if expires_in else None,
            scopes=str(body.get("scope", "")).split(),
        )

    async def exchange_code(self, *, code: str, code_verifier: str | None) -> TokenSet:
        if not code_verifier:
            raise ValueError("X requires the PKCE code_verifier")
        return await self._token_call(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.config.redirect_uri,
                "code_verifier": code_verifier,
                "client_id": self.config.client_id,
            }
        )

    async def refresh_token(self, tokens: TokenSet) -> TokenSet:
        if not tokens.refresh_token:
            raise PlatformError(
                ErrorKind.TOKEN_REVOKED,
                "X gave no refresh token (offline.access missing); the account must be reconnected",
                platform=Platform.x,
            )
        fresh = await self._token_call(
            {
                "grant_type": "refresh_token",
                "refresh_token": tokens.refresh_token,
                "client_id": self.config.client_id,
            }
        )
        # X rotates refresh tokens: the old one is dead now, so the new one must be stored.
        if fresh.refresh_token is None:
            fresh.refresh_token = tokens.refresh_token
        return fresh

    async def revoke(self, access_token: str) -> None:
        try:
            await self.token_transport.request(
                "POST",
                f"{self.api}/2/oauth2/revoke",
                data={
                    "token": access_token,
                    "token_type_hint": "access_token",
                    "client_id": self.config.client_id,
                },
                headers=self._client_auth(),
            )
        except PlatformError:
            return None  # best effort: disconnecting in T21 must not depend on X answering

    def _bearer(self, access_token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {access_token}"}

    async def get_profile(self, access_token: str) -> AccountProfile:
        body = await self.transport.json(
            "GET",
            f"{self.api}/2/users/me",
            params={"user.fields": "profile_image_url"},
            headers=self._bearer(access_token),
        )
        user = body["data"]
        return AccountProfile(
            platform_user_id=str(user["id"]),
            username=user.get("username"),
            display_name=user.get("name"),
            avatar_url=user.get("profile_image_url"),
        )

    # --- publishing ----------------------------------------------------------------------------

    async def publish(
        self, *, access_token: str, account_id: str, request: PublishRequest, progress: PublishProgress
    ) -> PublishResult:
        parts = [request.text, *request.thread]
        published = list(request.already_published)
        if len(published) > len(parts):
            raise ValueError("already_published lists more parts than the thread has")
        media_ids: list[str] = []
        if request.media and not published:
            media_ids = [await self._upload(access_token, media) for media in request.media]
        for index in range(len(published), len(parts)):
            payload: dict[str, Any] = {"text": parts[index]}
            if published:
                payload["reply"] = {"in_reply_to_tweet_id": published[-1]}
            if index == 0 and media_ids:
                payload["media"] = {"media_ids": media_ids}
            body = await self.transport.json(
                "POST",
                f"{self.api}/2/tweets",
                json=payload,
                headers=self._bearer(access_token),
                irreversible=True,
            )
            tweet_id = str(body["data"]["id"])
            published.append(tweet_id)
            await progress.part_published(index, tweet_id)
        return PublishResult(
            platform_post_id=published[0],
            url=None if self.config.sandbox else f"https://x.com/i/web/status/{published[0]}",
            thread_post_ids=published[1:],
        )

    async def _upload(self, access_token: str, media: MediaFile) -> str:
        """v2 media upload: initialize, append in chunks, finalize, then wait for processing."""
        headers = self._bearer(access_token)
        category = "tweet_image" if media.kind == "image" else "tweet_video"
        if media.content_type == "image/gif":
            category = "tweet_gif"
        data = await media.load()
        init = await self.transport.json(
            "POST",
            f"{self.api}/2/media/upload/initialize",
            json={"media_type": media.content_type, "total_bytes": len(data), "media_category": category},
            headers=headers,
        )
        media_id = str(init["data"]["id"])
        for segment, offset in enumerate(range(0, len(data), UPLOAD_CHUNK)):
            await self.transport.request(
                "POST",
                f"{self.api}/2/media/upload/{media_id}/append",
                data={"segment_index": str(segment)},
                files={"media": ("blob", data[offset : offset + UPLOAD_CHUNK], "application/octet-stream")},
                headers=headers,
            )
        final = await self.transport.json(
            "POST", f"{self.api}/2/media/upload/{media_id}/finalize", headers=headers
        )
        processing = final["data"].get("processing_info")
        for _ in range(self.max_polls):
            if processing is None or processing.get("state") == "succeeded":
                break
            if processing.get("state") == "failed":
                error = processing.get("error") or {}
                raise PlatformError(
                    ErrorKind.CONTENT_REJECTED,
                    f"X could not process the media: {error.get('message') or error.get('name') or 'failed'}",
                    platform=Platform.x,
                    raw=processing,
                )
            await asyncio.sleep(self.poll_interval)
            status = await self.transport.json(
                "GET",
                f"{self.api}/2/media/upload",
                params={"command": "STATUS", "media_id": media_id},
                headers=headers,
            )
            processing = status["data"].get("processing_info")
        else:
            raise PlatformError(
                ErrorKind.TRANSIENT,
                f"X was still processing media {media_id}; try again later",
                platform=Platform.x,
            )
        if media.alt_text:
            await self.transport.request(
                "POST",
                f"{self.api}/2/media/metadata",
                json={"id": media_id, "metadata": {"alt_text": {"text": media.alt_text[:1000]}}},
                headers=headers,
            )
        return media_id

    # --- reading back ------------------------------------------------------------------------

    async def recent_posts(self, *, access_token: str, account_id: str, since: datetime) -> list[RecentPost]:
        posts: list[RecentPost] = []
        params: dict[str, str] = {
            "max_results": str(RECENT_PAGE),
            "start_time": _iso(since),
            "tweet.fields": "created_at,conversation_id,referenced_tweets,entities",
        }
        for _ in range(RECENT_MAX_PAGES):
            body = await self.transport.json(
                "GET",
                f"{self.api}/2/users/{account_id}/tweets",
                params=params,
                headers=self._bearer(access_token),
            )
            for tweet in body.get("data", []):
                conversation = tweet.get("conversation_id")
                posts.append(
                    RecentPost(
                        str(tweet["id"]),
                        readable_text(tweet),
                        _parse_time(tweet.get("created_at")),
                        in_reply_to_id=_replied_to(tweet),
                        conversation_id=str(conversation) if conversation else None,
                    )
                )
            next_token = body.get("meta", {}).get("next_token")
            if not next_token:
                break
            params["pagination_token"] = next_token
        return posts

    def posts_page_url(self, *, platform_user_id: str, username: str | None) -> str:
        return f"https://x.com/{username}" if username else f"https://x.com/i/user/{platform_user_id}"

    async def fetch_metrics(
        self, *, access_token: str, account_id: str, post_ids: list[str]
    ) -> list[PostMetrics]:
        results: list[PostMetrics] = []
        for start in range(0, len(post_ids), METRICS_BATCH):
            batch = post_ids[start : start + METRICS_BATCH]
            body = await self.transport.json(
                "GET",
                f"{self.api}/2/tweets",
                params={
                    "ids": ",".join(batch),
                    "tweet.fields": "public_metrics,non_public_metrics,organic_metrics",
                },
                headers=self._bearer(access_token),
            )
            for tweet in body.get("data", []):
                public = tweet.get("public_metrics", {})
                results.append(
                    PostMetrics(
                        platform_post_id=str(tweet["id"]),
                        impressions=int(public.get("impression_count", 0)),
                        likes=int(public.get("like_count", 0)),
                        comments=int(public.get("reply_count", 0)),
                        shares=int(public.get("retweet_count", 0)) + int(public.get("quote_count", 0)),
                        saves=int(public.get("bookmark_count", 0)),
                        raw=tweet,
                    )
                )
            for error in body.get("errors", []):
                if (
                    str(error.get("type", "")).endswith("/resource-not-found")
                    and error.get("resource_id") in batch
                ):
                    results.append(
                        PostMetrics(platform_post_id=str(error["resource_id"]), deleted=True, raw=error)
                    )
        return results

    # --- rules ---------------------------------------------------------------------------------

    def validate(
        self, text: str, *, media: list[tuple[str, str]] | None = None, thread: list[str] | None = None
    ) -> ValidationResult:
        media = media or []
        issues: list[ValidationIssue] = []
        length = x_weighted_length(text)
        if not text.strip() and not media:
            issues.append(ValidationIssue("empty", "A post needs text or media."))
        if length > X_MAX_WEIGHT:
            issues.append(
                ValidationIssue("too_long", f"The post is {length} characters long; X allows {X_MAX_WEIGHT}.")
            )
        for number, part in enumerate(thread or [], start=2):
            part_length = x_weighted_length(part)
            if not part.strip():
                issues.append(ValidationIssue("empty", f"Thread part {number} is empty."))
            elif part_length > X_MAX_WEIGHT:
                issues.append(
                    ValidationIssue(
                        "too_long",
                        f"Thread part {number} is {part_length} characters long; X allows {X_MAX_WEIGHT}.",
                    )
                )
        issues.extend(_media_issues(media))
        return ValidationResult(
            platform=Platform.x,
            length=length,
            limit=X_MAX_WEIGHT,
            issues=issues,
            hashtags=len(hashtags(text)),
        )


def _media_issues(media: list[tuple[str, str]]) -> list[ValidationIssue]:
    issues = [
        ValidationIssue("unsupported_media_type", f"X does not take {content_type} {kind}s.")
        for kind, content_type in media
        if content_type not in (IMAGE_TYPES if kind == "image" else VIDEO_TYPES)
    ]
    videos = sum(1 for kind, content_type in media if kind == "video" or content_type == "image/gif")
    if videos and len(media) > 1:
        issues.append(ValidationIssue("too_many_media", "X takes one video or GIF alone, or up to 4 images."))
    elif len(media) > MAX_IMAGES:
        issues.append(ValidationIssue("too_many_media", f"X takes at most {MAX_IMAGES} images per post."))
    return issues
