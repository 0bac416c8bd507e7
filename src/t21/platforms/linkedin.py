"""LinkedIn connector: member posts through the versioned REST API (`/rest/posts`), images and
videos, social metadata and creator analytics.

Commentary is LinkedIn "little text": the reserved characters are backslash-escaped, otherwise
LinkedIn silently cuts the post at the first one. Hashtags are written as the hashtag template
`{hashtag|\\#|word}` so they stay real hashtags instead of an escaped literal `#`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from t21.enums import Platform
from t21.platforms.base import (
    AccountProfile,
    ConnectorConfig,
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
from t21.platforms.text import HASHTAG, code_point_length, hashtags, normalise
from t21.platforms.transport import DEFAULT_TIMEOUT, HttpConnector, body_of, server_side_error

COMMENTARY_LIMIT = 3000
MAX_IMAGES = 9
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})
VIDEO_TYPES = frozenset({"video/mp4"})
RESERVED = frozenset("\\|{}@[]()<>#*_~")
RESTLI_PROTOCOL = "2.0.0"
THROTTLE_DEFAULT_WAIT = 60.0
RECENT_PAGE = 50
RECENT_MAX_PAGES = 5
ANALYTICS_TYPES = ("IMPRESSION", "MEMBERS_REACHED", "RESHARE")
_TEMPLATE = re.compile(r"\{hashtag\|\\#\|((?:\\.|[^}\\])*)\}|@\[((?:\\.|[^\]\\])*)\]\([^)]*\)|\\(.)")


def escape_little_text(text: str) -> str:
    """Commentary in little-text form: reserved characters escaped, `#word` as a hashtag template."""
    out: list[str] = []
    position = 0
    for match in HASHTAG.finditer(text):
        out.append(_escape(text[position : match.start()]))
        out.append("{hashtag|\\#|" + _escape(match.group(1)) + "}")
        position = match.end()
    out.append(_escape(text[position:]))
    return "".join(out)


def _escape(plain: str) -> str:
    return "".join("\\" + char if char in RESERVED else char for char in plain)


def unescape_little_text(commentary: str) -> str:
    """What a reader sees: templates rendered, escapes removed (for matching posts by text)."""

    def render(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return "#" + re.sub(r"\\(.)", r"\1", match.group(1))
        if match.group(2) is not None:
            return re.sub(r"\\(.)", r"\1", match.group(2))
        return match.group(3)

    return _TEMPLATE.sub(render, commentary)


def person_urn(account_id: str) -> str:
    return account_id if account_id.startswith("urn:li:") else f"urn:li:person:{account_id}"


def classify(response: httpx.Response, irreversible: bool) -> PlatformError:
    body = body_of(response)
    fields = body if isinstance(body, dict) else {}
    message = str(fields.get("message") or fields.get("error_description") or body)[:500]
    code = fields.get("code") or fields.get("serviceErrorCode") or fields.get("error")
    status = response.status_code

    def fail(kind: ErrorKind, text: str, retry_after: float | None = None) -> PlatformError:
        return PlatformError(
            kind,
            text,
            platform=Platform.linkedin,
            status_code=status,
            retry_after=retry_after,
            platform_code=str(code) if code is not None else None,
            raw=body,
        )

    if status >= 500:
        return server_side_error(response, Platform.linkedin, irreversible, message)
    if status == 429:
        retry_after = response.headers.get("retry-after")
        wait = float(retry_after) if retry_after and retry_after.isdigit() else THROTTLE_DEFAULT_WAIT
        return fail(ErrorKind.RATE_LIMITED, f"LinkedIn is throttling T21: {message}", wait)
    if status == 401:
        revoked = code == "REVOKED_ACCESS_TOKEN" or "revoked" in message.lower()
        return fail(
            ErrorKind.TOKEN_REVOKED if revoked else ErrorKind.TOKEN_EXPIRED,
            f"LinkedIn refused the access token: {message}",
        )
    if status == 426:
        # Not the content's fault, but nothing retries it away: the operator must set a live version.
        return fail(
            ErrorKind.CONTENT_REJECTED,
            f"LinkedIn no longer serves API version {response.request.headers.get('linkedin-version')!s}: "
            f"set T21_LINKEDIN_VERSION to a current YYYYMM ({message})",
        )
    return fail(ErrorKind.CONTENT_REJECTED, message)


def classify_token_endpoint(response: httpx.Response, irreversible: bool) -> PlatformError:
    body = body_of(response)
    if isinstance(body, dict) and body.get("error") == "invalid_grant":
        return PlatformError(
            ErrorKind.TOKEN_REVOKED,
            f"LinkedIn refused the grant ({body.get('error_description') or 'invalid_grant'}); reconnect",
            platform=Platform.linkedin,
            status_code=response.status_code,
            platform_code="invalid_grant",
            raw=body,
        )
    return classify(response, irreversible)


class LinkedInConnector(HttpConnector):
    classify_api = staticmethod(classify)
    classify_token = staticmethod(classify_token_endpoint)
    platform = Platform.linkedin
    # Seconds between status polls while the network processes media.
    default_poll_interval = 2.0
    uses_pkce = False
    # Reading the member's posts back (reconciliation) needs r_member_social, which LinkedIn grants
    # only to approved partners (and refuses the whole authorization of an app that asks for it
    # unapproved): it is asked for only when given as `partner_scopes`. Without it the read is
    # refused (403) and an unknown outcome can only end UNKNOWN (README: "What reconciliation
    # can see").
    scopes: tuple[str, ...] = ("openid", "profile", "email", "w_member_social")
    settle_seconds = 10.0

    def __init__(
        self,
        config: ConnectorConfig,
        http: httpx.AsyncClient,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        poll_interval: float | None = None,
        max_polls: int = 60,
        partner_scopes: tuple[str, ...] = (),
    ) -> None:
        """`partner_scopes`: restricted scopes LinkedIn approved for this app (r_member_social lets
        reconciliation read the member's posts), asked for on top of the self-serve ones."""
        if not config.api_version:
            raise ValueError("LinkedIn needs api_version (the LinkedIn-Version header, YYYYMM)")
        super().__init__(config, http, timeout=timeout, poll_interval=poll_interval, max_polls=max_polls)
        self.auth = config.auth_base.rstrip("/")
        self.scopes = (*type(self).scopes, *(s for s in partner_scopes if s not in type(self).scopes))

    # --- OAuth -----------------------------------------------------------------------------

    def authorization_url(self, *, state: str, code_challenge: str | None) -> str:
        query = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_uri,
            "state": state,
            "scope": " ".join(self.scopes),
        }
        return f"{self.auth}/authorization?{urlencode(query)}"

    async def _token_call(self, form: dict[str, str]) -> TokenSet:
        body = await self.token_transport.json(
            "POST",
            f"{self.auth}/accessToken",
            data={
                **form,
                "client_id": self.config.client_id,
                "client_secret": self.config.client_secret or "",
            },
        )
        now = datetime.now(UTC)
        expires_in = body.get("expires_in")
        refresh_in = body.get("refresh_token_expires_in")
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token"),
            expires_at=now + timedelta(seconds=int(expires_in)) if expires_in else None,
            refresh_token_expires_at=now + timedelta(seconds=int(refresh_in)) if refresh_in else None,
            scopes=str(body.get("scope", "")).replace(",", " ").split(),
        )

    async def exchange_code(self, *, code: str, code_verifier: str | None) -> TokenSet:
        return await self._token_call(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": self.config.redirect_uri}
        )

    async def refresh_token(self, tokens: TokenSet) -> TokenSet:
        if not tokens.refresh_token:
            # Refresh tokens exist only for LinkedIn's approved partners; everyone else re-authorizes.
            raise PlatformError(
                ErrorKind.TOKEN_REVOKED,
                "LinkedIn issued no refresh token for this app; the user must reconnect the account",
                platform=Platform.linkedin,
            )
        fresh = await self._token_call({"grant_type": "refresh_token", "refresh_token": tokens.refresh_token})
        if fresh.refresh_token is None:
            fresh.refresh_token = tokens.refresh_token
            fresh.refresh_token_expires_at = tokens.refresh_token_expires_at
        return fresh

    async def revoke(self, access_token: str) -> None:
        try:
            await self.token_transport.request(
                "POST",
                f"{self.auth}/revoke",
                data={
                    "client_id": self.config.client_id,
                    "client_secret": self.config.client_secret or "",
                    "token": access_token,
                },
            )
        except PlatformError:
            return None  # best effort: disconnecting in T21 must not depend on LinkedIn answering

    async def get_profile(self, access_token: str) -> AccountProfile:
        body = await self.transport.json(
            "GET", f"{self.api}/v2/userinfo", headers={"Authorization": f"Bearer {access_token}"}
        )
        return AccountProfile(
            platform_user_id=person_urn(str(body["sub"])),
            username=body.get("email"),
            display_name=body.get("name"),
            avatar_url=body.get("picture"),
        )

    def _rest_headers(self, access_token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {access_token}",
            "LinkedIn-Version": str(self.config.api_version),
            "X-Restli-Protocol-Version": RESTLI_PROTOCOL,
        }

    # --- publishing ----------------------------------------------------------------------------

    async def publish(
        self, *, access_token: str, account_id: str, request: PublishRequest, progress: PublishProgress
    ) -> PublishResult:
        author = person_urn(account_id)
        headers = self._rest_headers(access_token)
        assets = [await self._upload(author, media, headers) for media in request.media]
        body: dict[str, Any] = {
            "author": author,
            "commentary": escape_little_text(request.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if len(assets) == 1:
            body["content"] = {"media": assets[0]}
        elif assets:
            body["content"] = {"multiImage": {"images": assets}}
        response = await self.transport.request(
            "POST", f"{self.api}/rest/posts", json=body, headers=headers, irreversible=True
        )
        urn = response.headers.get("x-restli-id")
        if not urn:
            raise PlatformError(
                ErrorKind.UNKNOWN_OUTCOME,
                f"LinkedIn answered {response.status_code} without an x-restli-id header",
                platform=Platform.linkedin,
                status_code=response.status_code,
            )
        await progress.part_published(0, urn)
        url = None if self.config.sandbox else f"https://www.linkedin.com/feed/update/{urn}/"
        return PublishResult(platform_post_id=urn, url=url)

    async def _upload(self, author: str, media: MediaFile, headers: dict[str, str]) -> dict[str, str]:
        data = await media.load()
        if media.kind == "video":
            urn = await self._upload_video(author, data, headers)
            await self._wait_available("videos", urn, headers)
        else:
            init = await self.transport.json(
                "POST",
                f"{self.api}/rest/images",
                params={"action": "initializeUpload"},
                json={"initializeUploadRequest": {"owner": author}},
                headers=headers,
            )
            urn = init["value"]["image"]
            await self.transport.request(
                "PUT",
                init["value"]["uploadUrl"],
                content=data,
                headers={"Authorization": headers["Authorization"], "Content-Type": media.content_type},
            )
            await self._wait_available("images", urn, headers)
        asset = {"id": urn}
        if media.alt_text:
            asset["altText"] = media.alt_text
        return asset

    async def _upload_video(self, author: str, data: bytes, headers: dict[str, str]) -> str:
        init = await self.transport.json(
            "POST",
            f"{self.api}/rest/videos",
            params={"action": "initializeUpload"},
            json={
                "initializeUploadRequest": {
                    "owner": author,
                    "fileSizeBytes": len(data),
                    "uploadCaptions": False,
                    "uploadThumbnail": False,
                }
            },
            headers=headers,
        )
        value = init["value"]
        part_ids = []
        for instruction in value["uploadInstructions"]:
            first, last = int(instruction["firstByte"]), int(instruction["lastByte"])
            response = await self.transport.request(
                "PUT",
                instruction["uploadUrl"],
                content=data[first : last + 1],
                headers={
                    "Authorization": headers["Authorization"],
                    "Content-Type": "application/octet-stream",
                },
            )
            part_ids.append(response.headers.get("etag", ""))
        await self.transport.request(
            "POST",
            f"{self.api}/rest/videos",
            params={"action": "finalizeUpload"},
            json={
                "finalizeUploadRequest": {
                    "video": value["video"],
                    "uploadToken": value.get("uploadToken", ""),
                    "uploadedPartIds": part_ids,
                }
            },
            headers=headers,
        )
        return str(value["video"])

    async def _wait_available(self, collection: str, urn: str, headers: dict[str, str]) -> None:
        async def available() -> bool:
            body = await self.transport.json(
                "GET", f"{self.api}/rest/{collection}/{quote(urn, safe='')}", headers=headers
            )
            status = body.get("status")
            if status == "PROCESSING_FAILED":
                raise PlatformError(
                    ErrorKind.CONTENT_REJECTED,
                    f"LinkedIn could not process {urn}: {status}",
                    platform=Platform.linkedin,
                    raw=body,
                )
            return bool(status == "AVAILABLE")

        if await self.poll_until_ready(available):
            return
        raise PlatformError(
            ErrorKind.TRANSIENT,
            f"LinkedIn was still processing {urn}; try again later",
            platform=Platform.linkedin,
        )

    # --- reading back ------------------------------------------------------------------------

    async def recent_posts(self, *, access_token: str, account_id: str, since: datetime) -> list[RecentPost]:
        posts: list[RecentPost] = []
        since_ms = int(since.timestamp() * 1000)
        for page in range(RECENT_MAX_PAGES):
            body = await self.transport.json(
                "GET",
                f"{self.api}/rest/posts",
                params={
                    "q": "author",
                    "author": person_urn(account_id),
                    "count": str(RECENT_PAGE),
                    "start": str(page * RECENT_PAGE),
                    "sortBy": "CREATED",
                },
                headers=self._rest_headers(access_token),
            )
            elements = body.get("elements", [])
            for element in elements:
                created_ms = int(element.get("createdAt") or element.get("publishedAt") or 0)
                if created_ms < since_ms:
                    continue
                posts.append(
                    RecentPost(
                        platform_post_id=str(element["id"]),
                        text=unescape_little_text(str(element.get("commentary", ""))),
                        created_at=datetime.fromtimestamp(created_ms / 1000, UTC),
                    )
                )
            oldest = min((int(e.get("createdAt") or 0) for e in elements), default=0)
            if len(elements) < RECENT_PAGE or oldest < since_ms:
                break
        return posts

    def posts_page_url(self, *, platform_user_id: str, username: str | None) -> str:
        # /in/me/ is LinkedIn's alias for the signed-in member's own profile.
        return "https://www.linkedin.com/in/me/recent-activity/all/"

    async def fetch_metrics(
        self, *, access_token: str, account_id: str, post_ids: list[str]
    ) -> list[PostMetrics]:
        headers = self._rest_headers(access_token)
        results = []
        for urn in post_ids:
            try:
                social = await self.transport.json(
                    "GET", f"{self.api}/rest/socialMetadata/{quote(urn, safe='')}", headers=headers
                )
                analytics = {kind: await self._analytics(urn, kind, headers) for kind in ANALYTICS_TYPES}
            except PlatformError as exc:
                if exc.status_code == 404:
                    results.append(PostMetrics(platform_post_id=urn, deleted=True, raw={"error": exc.raw}))
                    continue
                raise
            reactions = social.get("reactionSummaries") or {}
            results.append(
                PostMetrics(
                    platform_post_id=urn,
                    impressions=analytics["IMPRESSION"],
                    reach=analytics["MEMBERS_REACHED"],
                    likes=sum(int(r.get("count", 0)) for r in reactions.values()),
                    comments=int((social.get("commentSummary") or {}).get("count", 0)),
                    shares=analytics["RESHARE"],
                    raw={"socialMetadata": social, "analytics": analytics},
                )
            )
        return results

    async def _analytics(self, urn: str, query_type: str, headers: dict[str, str]) -> int:
        kind = "ugc" if urn.startswith("urn:li:ugcPost:") else "share"
        # Rest.li 2.0 wants the parentheses and the colon after `share` literal and the URN encoded.
        url = (
            f"{self.api}/rest/memberCreatorPostAnalytics?q=entity&entity=({kind}:{quote(urn, safe='')})"
            f"&queryType={query_type}&aggregation=TOTAL"
        )
        body = await self.transport.json("GET", url, headers=headers)
        return sum(int(element.get("count", 0)) for element in body.get("elements", []))

    # --- rules ---------------------------------------------------------------------------------

    def validate(
        self, text: str, *, media: list[tuple[str, str]] | None = None, thread: list[str] | None = None
    ) -> ValidationResult:
        media = media or []
        issues: list[ValidationIssue] = []
        length = code_point_length(text)
        if not normalise(text).strip() and not media:
            issues.append(ValidationIssue("empty", "A post needs text or media."))
        if length > COMMENTARY_LIMIT:
            issues.append(
                ValidationIssue(
                    "too_long", f"The post is {length} characters; LinkedIn allows {COMMENTARY_LIMIT}."
                )
            )
        for kind, content_type in media:
            if content_type not in (IMAGE_TYPES if kind == "image" else VIDEO_TYPES):
                issues.append(
                    ValidationIssue(
                        "unsupported_media_type", f"LinkedIn does not take {content_type} {kind}s."
                    )
                )
        videos = sum(1 for kind, _ in media if kind == "video")
        if videos and len(media) > 1:
            issues.append(
                ValidationIssue("too_many_media", "LinkedIn takes one video alone, or up to 9 images.")
            )
        elif len(media) > MAX_IMAGES:
            issues.append(
                ValidationIssue("too_many_media", f"LinkedIn takes at most {MAX_IMAGES} images per post.")
            )
        if thread:
            issues.append(ValidationIssue("thread_unsupported", "LinkedIn has no threads."))
        return ValidationResult(
            platform=Platform.linkedin,
            length=length,
            limit=COMMENTARY_LIMIT,
            issues=issues,
            hashtags=len(hashtags(text)),
        )
