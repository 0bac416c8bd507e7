"""An emulator of X API v2: OAuth 2.0 with PKCE, tweets and reply chains, v2 media upload,
per-user rate limits with `x-rate-limit-*` headers, metrics and recent tweets.

Inspect it from tests through `app.state.emulator` (an `XEmulator`):
`store["tweets"]` (id -> Tweet; `text` as sent, `stored_text` as X returns it), `store["media"]`,
`store["users"]`, `store["tokens"]`.

Wire facts it keeps (X API v2 docs: data dictionary "Tweet object", POST /2/tweets, GET /2/tweets,
GET /2/users/:id/tweets, "Response codes and errors"; twitter-text for links):
- X stores and returns tweet text HTML-escaped: `&` -> `&amp;`, `<` -> `&lt;`, `>` -> `&gt;` (only
  those three; quotes are left alone), and every link as a `https://t.co/...` link (the original URL
  is only in `entities.urls[].expanded_url`, with `tweet.fields=entities`). Every answer that
  carries tweet text says it that way: `GET /2/tweets?ids=`, `GET /2/users/:id/tweets`, and the
  `data.text` of the 201 answer to `POST /2/tweets` (the create answer's `text` is the same
  TweetText as the reads; the documented example answers with a t.co link). A reader must compare
  against the text as X stores it, never as sent. The t.co link of a URL differs from tweet to
  tweet, so it cannot be predicted: compare with links masked.
- Duplicate content: a text (as X stores it, links as sent) equal to a live tweet of the same user
  is refused with 403 problem+json `{"detail": "You are not allowed to create a Tweet with
  duplicate content.", "type": "about:blank", "title": "Forbidden", "status": 403}`.
- Access tiers: the lowest tiers cannot read tweets at all, and the paid ones read little. The
  control `POST /_emulator/read_refusal` makes the tweet reads refuse while posting still works:
    {"status": 403}  -> 403 `https://api.twitter.com/2/problems/client-forbidden`, reason
                        `client-not-enrolled` (the body X sends to an app whose tier lacks the read)
    {"status": 429, "reset_in": 900, "limit": 1}
                     -> 429 `Too Many Requests` with `x-rate-limit-limit`, `x-rate-limit-remaining: 0`
                        and `x-rate-limit-reset` (unix seconds; there is no Retry-After)
    {"status": null} -> reads answer again.
  `"endpoints"` narrows it (default both: ["GET /2/users/:id/tweets", "GET /2/tweets"]).
  A reset clears it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from t21.emulators.base import Fault, install_emulator
from t21.emulators.social import (
    IssuedToken,
    SocialEmulator,
    authorization_denied,
    bearer_of,
    grown,
    install_social_controls,
    redirect_with,
)

ACCESS_TTL = 7200.0
RATE_WINDOW = 15 * 60.0
DAY = 24 * 3600.0
PROBLEMS = "https://api.twitter.com/2/problems"
# Requests per 15 minutes per user, by endpoint (the documented per-user limits).
ENDPOINT_LIMITS = {
    "POST /2/tweets": 200,
    "GET /2/tweets": 900,
    "GET /2/users/me": 75,
    "GET /2/users/:id/tweets": 900,
    "media": 500,
}
MEDIA_CATEGORIES = {"tweet_image": 5 * 1024**2, "tweet_gif": 15 * 1024**2, "tweet_video": 512 * 1024**2}
TWEET_FIELDS = {
    "text",
    "reply",
    "media",
    "quote_tweet_id",
    "poll",
    "reply_settings",
    "for_super_followers_only",
}
DEFAULT_USER = {"id": "1460000000000000001", "name": "T21 Sandbox", "username": "t21sandbox"}
READS = ("GET /2/users/:id/tweets", "GET /2/tweets")
# Links as twitter-text finds them: with a scheme, or a bare domain under a common TLD
# ("example.com/x"); an e-mail address or an @mention is not a link.
_TLDS = "com|org|net|io|co|dev|app|ai|me|ly|gg|tv|info|biz|xyz|uk|de|fr|jp|ca|au|in|us|eu"
_LINK = re.compile(
    r"https?://[^\s<>\"]+"
    rf"|(?<![\w@.#$/-])(?:www\.)?(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:{_TLDS})(?::\d+)?"
    r"(?:/[^\s<>\"]*)?(?![\w@])",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?'\")]"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def html_escape(text: str) -> str:
    """X's escaping of tweet text: exactly `&`, `<` and `>` (quotes stay as they are)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def find_links(text: str) -> list[tuple[int, int]]:
    """(start, end) of each link in `text`, trailing punctuation left out as twitter-text does."""
    spans = []
    for match in _LINK.finditer(text):
        start, end = match.span()
        while end > start and text[end - 1] in _TRAILING:
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def tco_link(tweet_id: str, url: str, index: int) -> str:
    digest = int.from_bytes(hashlib.sha256(f"{tweet_id}|{index}|{url}".encode()).digest()[:8], "big")
    chars = []
    for _ in range(10):
        digest, rest = divmod(digest, 62)
        chars.append(_BASE62[rest])
    return "https://t.co/" + "".join(chars)


def stored_form(text: str, tweet_id: str) -> tuple[str, list[dict[str, Any]]]:
    """(text as X stores and returns it, its `entities.urls`): escaped, links wrapped in t.co.

    Entity `start`/`end` count code points of the returned text."""
    out: list[str] = []
    urls: list[dict[str, Any]] = []
    length = 0
    last = 0
    for index, (start, end) in enumerate(find_links(text)):
        before = html_escape(text[last:start])
        out.append(before)
        length += len(before)
        url = text[start:end]
        expanded = url if re.match(r"https?://", url, re.IGNORECASE) else f"http://{url}"
        short = tco_link(tweet_id, url, index)
        display = re.sub(r"^https?://", "", url, flags=re.IGNORECASE)
        if len(display) > 26:
            display = display[:26] + "\u2026"
        urls.append(
            {
                "start": length,
                "end": length + len(short),
                "url": short,
                "expanded_url": expanded,
                "display_url": display,
            }
        )
        out.append(short)
        length += len(short)
        last = end
    out.append(html_escape(text[last:]))
    return "".join(out), urls


# twitter-text v3 (the counting X documents under "Counting characters"): after NFC, code points
# in these ranges weigh 1, all others 2; every link weighs 23; an emoji sequence weighs 2 in all.
# Written here from the documentation, not borrowed from T21, so the two cannot share a mistake.
X_MAX_WEIGHT = 280
URL_WEIGHT = 23
_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_EMOJI_BASE = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2300-\u23ff\u2b00-\u2bff\u3030\u303d\u3297\u3299]"
)
_EMOJI_TAIL = re.compile("[\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")


def _char_weight(char: str) -> int:
    point = ord(char)
    return 1 if any(low <= point <= high for low, high in _LIGHT) else 2


def _emoji_run(text: str, i: int) -> int:
    """The end of the emoji sequence starting at `i`, or `i` if none starts there."""
    char = text[i]
    regional = "\U0001f1e6" <= char <= "\U0001f1ff"
    if not (_EMOJI_BASE.match(char) or (i + 1 < len(text) and text[i + 1] in "\ufe0f\u20e3")):
        return i
    end = i + 1
    if regional and end < len(text) and "\U0001f1e6" <= text[end] <= "\U0001f1ff":
        return end + 1  # a flag: two regional indicators
    while end < len(text):
        if _EMOJI_TAIL.match(text[end]):
            end += 1
        elif text[end] == "\u200d" and end + 1 < len(text) and _EMOJI_BASE.match(text[end + 1]):
            end += 2
        else:
            break
    return end


def weighted_length(text: str) -> int:
    text = unicodedata.normalize("NFC", text)
    total = 0
    last = 0
    for start, end in [*find_links(text), (len(text), len(text))]:
        i = last
        while i < start:
            end_of_emoji = _emoji_run(text, i)
            if end_of_emoji > i:
                total += 2
                i = end_of_emoji
            else:
                total += _char_weight(text[i])
                i += 1
        if end > start:
            total += URL_WEIGHT
        last = end
    return total


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def duplicate_key(text: str) -> str:
    """What X's duplicate-content rule compares: the text as stored (escaped), links as sent."""
    return html_escape(text)


@dataclass
class Tweet:
    id: str
    text: str
    author_id: str
    created_at: float
    in_reply_to_tweet_id: str | None = None
    conversation_id: str | None = None
    media_ids: list[str] = field(default_factory=list)
    deleted: bool = False
    stored_text: str = ""  # as X returns it: HTML-escaped, links as t.co
    urls: list[dict[str, Any]] = field(default_factory=list)  # entities.urls


@dataclass
class Upload:
    id: str
    user_id: str
    media_type: str
    category: str
    total_bytes: int
    segments: dict[int, bytes] = field(default_factory=dict)
    finalized: bool = False
    status_polls: int = 0
    alt_text: str | None = None

    @property
    def needs_processing(self) -> bool:
        return self.category != "tweet_image"


@dataclass
class XEmulator(SocialEmulator):
    tweets_per_24h: int = 2400
    # Per-user 15-minute limits by endpoint; tests lower them to reach a 429 quickly.
    endpoint_limits: dict[str, int] = field(default_factory=lambda: dict(ENDPOINT_LIMITS))
    # STATUS polls a video or GIF needs before it reads "succeeded".
    media_processing_polls: int = 1
    # The access tier refusing tweet reads (see the module docstring); None = reads answer.
    read_refusal: dict[str, Any] | None = None

    def tweets(self) -> dict[str, Tweet]:
        return self.store["tweets"]


def _seed(emulator: SocialEmulator) -> None:
    # by_text: (author id, text) -> ids of the tweets with that text, for X's duplicate-content
    # rule without scanning every tweet on every POST.
    emulator.store.update(tweets={}, media={}, rate={}, by_text={})
    emulator.store["users"][DEFAULT_USER["id"]] = dict(DEFAULT_USER)


def problem(status: int, title: str, detail: str, kind: str = "about:blank", **extra: Any) -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": kind, "status": status, **extra}


def _iso(moment: float) -> str:
    return (
        datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{int(moment * 1000) % 1000:03d}Z"
    )


def _parse_iso(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def create_app(*, tweets_per_24h: int = 2400, media_processing_polls: int = 1) -> FastAPI:
    app = FastAPI(title="X API v2 (T21 emulator)")
    emulator = XEmulator(
        name="x", seed=_seed, tweets_per_24h=tweets_per_24h, media_processing_polls=media_processing_polls
    )

    def unauthorized() -> JSONResponse:
        return JSONResponse(problem(401, "Unauthorized", "Unauthorized"), status_code=401)

    def rate_limited(reset_at: float, limit: int, extra: dict[str, str] | None = None) -> JSONResponse:
        headers = {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(int(reset_at)),
            **(extra or {}),
        }
        return JSONResponse(
            problem(429, "Too Many Requests", "Too Many Requests"), status_code=429, headers=headers
        )

    def fault_response(fault: Fault, request: Request) -> Response:
        if fault.kind == "rate_limit":
            return rate_limited(time.time() + fault.reset_in, emulator.endpoint_limits["POST /2/tweets"])
        if fault.kind in ("expired_token", "revoked_token"):
            # X does not say which: both are a bare 401.
            return unauthorized()
        body = (
            fault.body
            if fault.body is not None
            else problem(fault.status, "Service Unavailable", "emulated fault")
        )
        return JSONResponse(body, status_code=fault.status)

    install_emulator(app, emulator, fault_response=fault_response)

    def delete_tweet(tweet_id: str) -> bool:
        with emulator.lock:
            tweet = emulator.tweets().get(tweet_id)
            if tweet is None:
                return False
            tweet.deleted = True
            return True

    install_social_controls(app, emulator, delete_post=delete_tweet)

    def authenticate(request: Request, scope: str | None = None) -> IssuedToken | JSONResponse:
        token = emulator.token(bearer_of(request))
        if emulator.token_problem(token) is not None or token is None:
            return unauthorized()
        if scope is not None and scope not in token.scopes:
            return JSONResponse(
                problem(403, "Forbidden", f"Missing the scope {scope} for this request", "about:blank"),
                status_code=403,
            )
        return token

    def count_request(user_id: str, key: str) -> tuple[dict[str, str], bool]:
        """Count one request against the user's 15-minute window; (headers, over the limit)."""
        limit = emulator.endpoint_limits[key]
        now = emulator.now()
        with emulator.lock:
            windows = emulator.store["rate"]
            window = windows.get((user_id, key))
            if window is None or now >= window["start"] + RATE_WINDOW:
                window = windows[(user_id, key)] = {"start": now, "count": 0}
            window["count"] += 1
            remaining = limit - window["count"]
            reset_in = window["start"] + RATE_WINDOW - now
        headers = {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(0, remaining)),
            "x-rate-limit-reset": str(int(time.time() + reset_in)),
        }
        return headers, remaining < 0

    def count_daily_tweet(user_id: str) -> tuple[dict[str, str], bool]:
        now = emulator.now()
        with emulator.lock:
            windows = emulator.store["rate"]
            window = windows.get((user_id, "24h"))
            if window is None or now >= window["start"] + DAY:
                window = windows[(user_id, "24h")] = {"start": now, "count": 0}
            window["count"] += 1
            remaining = emulator.tweets_per_24h - window["count"]
            reset_in = window["start"] + DAY - now
        headers = {
            "x-user-limit-24hour-limit": str(emulator.tweets_per_24h),
            "x-user-limit-24hour-remaining": str(max(0, remaining)),
            "x-user-limit-24hour-reset": str(int(time.time() + reset_in)),
        }
        return headers, remaining < 0

    def limited(user_id: str, key: str) -> tuple[dict[str, str], JSONResponse | None]:
        headers, over = count_request(user_id, key)
        if over:
            return headers, rate_limited(int(headers["x-rate-limit-reset"]), emulator.endpoint_limits[key])
        return headers, None

    def read_refused(key: str) -> JSONResponse | None:
        """The access tier's answer to a tweet read it does not allow, if one is set."""
        with emulator.lock:
            refusal = dict(emulator.read_refusal) if emulator.read_refusal else None
        if not refusal or key not in refusal.get("endpoints", READS):
            return None
        if int(refusal.get("status") or 0) == 429:
            reset_at = time.time() + float(refusal.get("reset_in", RATE_WINDOW))
            return rate_limited(reset_at, int(refusal.get("limit", 1)))
        client_id = str(refusal.get("client_id", "t21-emulated-client"))
        body = {
            "client_id": client_id,
            "detail": (
                "When authenticating requests to the Twitter API v2 endpoints, you must use keys and "
                "tokens from a Twitter developer App that is attached to a Project. You can create a "
                "project via the developer portal."
            ),
            "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
            "title": "Client Forbidden",
            "required_enrollment": "Appropriate Level of API Access",
            "reason": "client-not-enrolled",
            "type": f"{PROBLEMS}/client-forbidden",
        }
        return JSONResponse(body, status_code=403, media_type="application/problem+json")

    @app.post("/_emulator/read_refusal", include_in_schema=False)
    async def _read_refusal(spec: dict[str, Any]) -> Response:
        status = spec.get("status")
        if status in (None, 0):
            with emulator.lock:
                emulator.read_refusal = None
            return JSONResponse({"ok": True, "read_refusal": None})
        endpoints = list(spec.get("endpoints") or READS)
        if int(status) not in (403, 429) or any(e not in READS for e in endpoints):
            return JSONResponse(
                {"error": f"status must be 403 or 429 and endpoints among {list(READS)}"}, status_code=400
            )
        refusal = {**spec, "status": int(status), "endpoints": endpoints}
        with emulator.lock:
            emulator.read_refusal = refusal
        return JSONResponse({"ok": True, "read_refusal": refusal})

    # --- OAuth 2.0 ---------------------------------------------------------------------------

    @app.get("/authorize")
    async def authorize(request: Request) -> Response:
        q = request.query_params
        required = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge")
        missing = [name for name in required if not q.get(name)]
        if missing or q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
            detail = (
                f"missing {', '.join(missing)}" if missing else "response_type=code and S256 are required"
            )
            return JSONResponse({"error": "invalid_request", "error_description": detail}, status_code=400)
        if authorization_denied(emulator, request):
            return redirect_with(q["redirect_uri"], {"error": "access_denied", "state": q["state"]})
        user_id = _user_for(q.get("user"))
        code = emulator.issue_code(
            client_id=q["client_id"],
            redirect_uri=q["redirect_uri"],
            user_id=user_id,
            scopes=q["scope"].split(),
            code_challenge=q["code_challenge"],
        )
        return redirect_with(q["redirect_uri"], {"state": q["state"], "code": code.value})

    def _user_for(login: str | None) -> str:
        if not login:
            return DEFAULT_USER["id"]
        with emulator.lock:
            for user in emulator.store["users"].values():
                if user["username"] == login:
                    return str(user["id"])
            user_id = str(emulator.next_id("user", 1460000000000000001))
            emulator.store["users"][user_id] = {"id": user_id, "name": login.title(), "username": login}
            return user_id

    def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
        return JSONResponse({"error": error, "error_description": description}, status_code=status)

    def client_of(request: Request, form: dict[str, str]) -> str | None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                return base64.b64decode(value).decode().split(":", 1)[0]
            except ValueError:
                return None
        return form.get("client_id")

    def grant(user_id: str, client_id: str, scopes: list[str]) -> JSONResponse:
        access = emulator.issue_token(
            "access", user_id=user_id, client_id=client_id, scopes=scopes, ttl=ACCESS_TTL
        )
        body: dict[str, Any] = {
            "token_type": "bearer",
            "expires_in": int(ACCESS_TTL),
            "access_token": access.value,
            "scope": " ".join(scopes),
        }
        if "offline.access" in scopes:
            refresh = emulator.issue_token(
                "refresh", user_id=user_id, client_id=client_id, scopes=scopes, ttl=None
            )
            body["refresh_token"] = refresh.value
        return JSONResponse(body)

    @app.post("/2/oauth2/token")
    async def token(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        client_id = client_of(request, form)
        if not client_id:
            return oauth_error("invalid_client", "Missing valid authorization header", 401)
        if form.get("grant_type") == "authorization_code":
            code = emulator.redeem_code(
                form.get("code", ""), client_id=client_id, redirect_uri=form.get("redirect_uri", "")
            )
            verifier = form.get("code_verifier", "")
            if code is None or not verifier or pkce_challenge(verifier) != code.code_challenge:
                return oauth_error("invalid_request", "Value passed for the authorization code was invalid.")
            return grant(code.user_id, client_id, code.scopes)
        if form.get("grant_type") == "refresh_token":
            refresh = emulator.token(form.get("refresh_token"), "refresh")
            with emulator.lock:
                usable = (
                    refresh is not None
                    and not refresh.used
                    and not refresh.revoked
                    and refresh.client_id == client_id
                )
                if refresh is not None and usable:
                    refresh.used = True  # rotation: this refresh token is dead from now on
            if refresh is None or not usable:
                return oauth_error("invalid_grant", "Value passed for the token was invalid.")
            return grant(refresh.user_id, client_id, refresh.scopes)
        return oauth_error("unsupported_grant_type", "Unsupported grant type")

    @app.post("/2/oauth2/revoke")
    async def revoke(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        with emulator.lock:
            found = emulator.store["tokens"].get(form.get("token", ""))
            if found is not None:
                found.revoked = True
        return JSONResponse({"revoked": True})

    # --- users -------------------------------------------------------------------------------

    @app.get("/2/users/me")
    async def users_me(request: Request) -> Response:
        token = authenticate(request, "users.read")
        if isinstance(token, JSONResponse):
            return token
        headers, refused = limited(token.user_id, "GET /2/users/me")
        if refused:
            return refused
        with emulator.lock:
            user = dict(emulator.store["users"][token.user_id])
        fields = set(request.query_params.get("user.fields", "").split(","))
        if "profile_image_url" in fields:
            user["profile_image_url"] = f"https://pbs.twimg.com/profile_images/{user['id']}/avatar_normal.jpg"
        return JSONResponse({"data": user}, headers=headers)

    # --- tweets --------------------------------------------------------------------------------

    def render(tweet: Tweet, fields: set[str], viewer: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": tweet.id,
            "text": tweet.stored_text,
            "edit_history_tweet_ids": [tweet.id],
        }
        if "entities" in fields and tweet.urls:
            out["entities"] = {"urls": [dict(u) for u in tweet.urls]}
        if "created_at" in fields:
            out["created_at"] = _iso(tweet.created_at)
        if "author_id" in fields:
            out["author_id"] = tweet.author_id
        if "conversation_id" in fields:
            out["conversation_id"] = tweet.conversation_id or tweet.id
        if "attachments" in fields and tweet.media_ids:
            out["attachments"] = {"media_keys": [f"3_{m}" for m in tweet.media_ids]}
        age = emulator.now() - tweet.created_at
        impressions = grown(tweet.id, "impressions", age, 5.0)
        if "public_metrics" in fields:
            out["public_metrics"] = {
                "retweet_count": grown(tweet.id, "retweets", age, 0.05),
                "reply_count": grown(tweet.id, "replies", age, 0.05),
                "like_count": grown(tweet.id, "likes", age, 0.4),
                "quote_count": grown(tweet.id, "quotes", age, 0.02),
                "bookmark_count": grown(tweet.id, "bookmarks", age, 0.03),
                "impression_count": impressions,
            }
        # Private metrics only for the author's own tweets of the last 30 days.
        own_and_recent = tweet.author_id == viewer and age <= 30 * DAY
        if "non_public_metrics" in fields and own_and_recent:
            out["non_public_metrics"] = {
                "impression_count": impressions,
                "url_link_clicks": grown(tweet.id, "link_clicks", age, 0.1),
                "user_profile_clicks": grown(tweet.id, "profile_clicks", age, 0.05),
            }
        if "organic_metrics" in fields and own_and_recent:
            out["organic_metrics"] = {
                "impression_count": impressions,
                "like_count": grown(tweet.id, "likes", age, 0.4),
                "reply_count": grown(tweet.id, "replies", age, 0.05),
                "retweet_count": grown(tweet.id, "retweets", age, 0.05),
            }
        return out

    def invalid_request(message: str, parameter: str | None = None) -> JSONResponse:
        error: dict[str, Any] = {"message": message}
        if parameter:
            error["parameters"] = {parameter: []}
        body = problem(
            400,
            "Invalid Request",
            "One or more parameters to your request was invalid.",
            f"{PROBLEMS}/invalid-request",
        )
        body["errors"] = [error]
        return JSONResponse(body, status_code=400)

    @app.post("/2/tweets")
    async def create_tweet(request: Request) -> Response:
        token = authenticate(request, "tweet.write")
        if isinstance(token, JSONResponse):
            return token
        user_id = token.user_id
        headers, refused = limited(user_id, "POST /2/tweets")
        if refused:
            return refused
        daily_headers, over_daily = count_daily_tweet(user_id)
        headers.update(daily_headers)
        if over_daily:
            return rate_limited(
                int(headers["x-rate-limit-reset"]), emulator.endpoint_limits["POST /2/tweets"], daily_headers
            )
        try:
            payload = json.loads(await request.body())
        except ValueError:
            return invalid_request("Request body is not valid JSON")
        if not isinstance(payload, dict):
            return invalid_request("Request body must be a JSON object")
        unknown = sorted(set(payload) - TWEET_FIELDS)
        if unknown:
            return invalid_request(
                f"[$.{unknown[0]}: is not defined in the schema and the schema does not allow "
                "additional properties]"
            )
        text = payload.get("text", "")
        media_ids = [str(m) for m in (payload.get("media") or {}).get("media_ids", [])]
        reply_to = (payload.get("reply") or {}).get("in_reply_to_tweet_id")
        if not isinstance(text, str) or (not text.strip() and not media_ids):
            return invalid_request("Text or media is required for a Tweet", "text")
        if len(media_ids) > 4:
            return invalid_request("[$.media.media_ids: there must be a maximum of 4 items in the array]")
        if weighted_length(text) > X_MAX_WEIGHT:
            detail = (
                "Your Tweet text is too long. For more information on how X determines text length see "
                "https://github.com/twitter/twitter-text."
            )
            return JSONResponse(problem(403, "Forbidden", detail), status_code=403, headers=headers)
        with emulator.lock:
            tweets = emulator.tweets()
            parent = tweets.get(str(reply_to)) if reply_to else None
            if reply_to and (parent is None or parent.deleted):
                detail = "You attempted to reply to a Tweet that is deleted or not visible to you."
                return JSONResponse(problem(403, "Forbidden", detail), status_code=403, headers=headers)
            uploads = emulator.store["media"]
            for media_id in media_ids:
                upload = uploads.get(media_id)
                if upload is None or upload.user_id != user_id or not _media_ready(upload):
                    return invalid_request(f"Your media IDs are invalid: {media_id}", "media.media_ids")
            key = (user_id, duplicate_key(text))
            same_text = emulator.store.setdefault("by_text", {}).setdefault(key, [])
            if text.strip() and any(i in tweets and not tweets[i].deleted for i in same_text):
                detail = "You are not allowed to create a Tweet with duplicate content."
                return JSONResponse(problem(403, "Forbidden", detail), status_code=403, headers=headers)
            tweet_id = str(emulator.next_id("tweet", 1860000000000000000))
            stored_text, urls = stored_form(text, tweet_id)
            tweets[tweet_id] = Tweet(
                id=tweet_id,
                text=text,
                stored_text=stored_text,
                urls=urls,
                author_id=user_id,
                created_at=emulator.now(),
                in_reply_to_tweet_id=str(reply_to) if reply_to else None,
                conversation_id=(parent.conversation_id or parent.id) if parent else tweet_id,
                media_ids=media_ids,
            )
            same_text.append(tweet_id)
        # The create answer's text is the stored one (escaped, links as t.co), like every read.
        body = {"data": {"id": tweet_id, "text": stored_text, "edit_history_tweet_ids": [tweet_id]}}
        return JSONResponse(body, status_code=201, headers=headers)

    def _media_ready(upload: Upload) -> bool:
        return upload.finalized and (
            not upload.needs_processing or upload.status_polls >= emulator.media_processing_polls
        )

    @app.get("/2/tweets")
    async def lookup_tweets(request: Request) -> Response:
        token = authenticate(request, "tweet.read")
        if isinstance(token, JSONResponse):
            return token
        if refusal := read_refused("GET /2/tweets"):
            return refusal
        headers, refused = limited(token.user_id, "GET /2/tweets")
        if refused:
            return refused
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        if not ids or len(ids) > 100:
            return invalid_request(
                f"The `ids` query parameter value [{len(ids)}] is not between 1 and 100", "ids"
            )
        fields = set(request.query_params.get("tweet.fields", "").split(","))
        data, errors = [], []
        with emulator.lock:
            for tweet_id in ids:
                tweet = emulator.tweets().get(tweet_id)
                if tweet is None or tweet.deleted:
                    errors.append(
                        {
                            "value": tweet_id,
                            "detail": f"Could not find tweet with ids: [{tweet_id}].",
                            "title": "Not Found Error",
                            "resource_type": "tweet",
                            "parameter": "ids",
                            "resource_id": tweet_id,
                            "type": f"{PROBLEMS}/resource-not-found",
                        }
                    )
                else:
                    data.append(render(tweet, fields, token.user_id))
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return JSONResponse(body, headers=headers)

    @app.get("/2/users/{user_id}/tweets")
    async def user_tweets(user_id: str, request: Request) -> Response:
        token = authenticate(request, "tweet.read")
        if isinstance(token, JSONResponse):
            return token
        if refusal := read_refused("GET /2/users/:id/tweets"):
            return refusal
        headers, refused = limited(token.user_id, "GET /2/users/:id/tweets")
        if refused:
            return refused
        q = request.query_params
        try:
            max_results = int(q.get("max_results", "10"))
            start_time = _parse_iso(q["start_time"]) if q.get("start_time") else None
        except ValueError:
            return invalid_request("Invalid max_results or start_time")
        if not 5 <= max_results <= 100:
            return invalid_request(
                f"The `max_results` query parameter value [{max_results}] is not between 5 and 100"
            )
        fields = set(q.get("tweet.fields", "").split(",")) - {""}
        with emulator.lock:
            if user_id not in emulator.store["users"]:
                return JSONResponse(
                    {
                        "errors": [
                            {
                                "value": user_id,
                                "detail": f"Could not find user with id: [{user_id}].",
                                "title": "Not Found Error",
                                "resource_type": "user",
                                "parameter": "id",
                                "resource_id": user_id,
                                "type": f"{PROBLEMS}/resource-not-found",
                            }
                        ]
                    },
                    headers=headers,
                )
            mine = sorted(
                (
                    t
                    for t in emulator.tweets().values()
                    if t.author_id == user_id
                    and not t.deleted
                    and (start_time is None or t.created_at >= start_time)
                ),
                key=lambda t: int(t.id),
                reverse=True,
            )
        offset = int(q.get("pagination_token", "0") or 0)
        page = mine[offset : offset + max_results]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0].id, oldest_id=page[-1].id)
        if offset + max_results < len(mine):
            meta["next_token"] = str(offset + max_results)
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = [render(t, fields, token.user_id) for t in page]
        return JSONResponse(body, headers=headers)

    # --- media upload (v2) ---------------------------------------------------------------------

    def upload_of(media_id: str, user_id: str) -> Upload | None:
        with emulator.lock:
            upload: Upload | None = emulator.store["media"].get(media_id)
        return upload if upload is not None and upload.user_id == user_id else None

    def media_view(upload: Upload) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": upload.id,
            "media_key": f"{'3' if upload.category == 'tweet_image' else '7'}_{upload.id}",
            "size": upload.total_bytes,
            "expires_after_secs": 86400,
        }
        if upload.finalized and upload.needs_processing:
            done = upload.status_polls >= emulator.media_processing_polls
            view["processing_info"] = (
                {"state": "succeeded", "progress_percent": 100}
                if done
                else {"state": "in_progress" if upload.status_polls else "pending", "check_after_secs": 1}
            )
        return view

    @app.post("/2/media/upload/initialize")
    async def media_initialize(request: Request) -> Response:
        token = authenticate(request, "media.write")
        if isinstance(token, JSONResponse):
            return token
        headers, refused = limited(token.user_id, "media")
        if refused:
            return refused
        try:
            spec = json.loads(await request.body())
            media_type, total, category = (
                spec["media_type"],
                int(spec["total_bytes"]),
                spec.get("media_category"),
            )
        except (ValueError, KeyError, TypeError):
            return invalid_request("media_type and total_bytes are required")
        category = category or ("tweet_video" if media_type.startswith("video/") else "tweet_image")
        if category not in MEDIA_CATEGORIES or total <= 0 or total > MEDIA_CATEGORIES[category]:
            return invalid_request(f"Invalid media_category or total_bytes for {category}")
        media_id = str(emulator.next_id("media", 1870000000000000000))
        upload = Upload(
            id=media_id, user_id=token.user_id, media_type=media_type, category=category, total_bytes=total
        )
        with emulator.lock:
            emulator.store["media"][media_id] = upload
        return JSONResponse({"data": media_view(upload)}, headers=headers)

    @app.post("/2/media/upload/{media_id}/append")
    async def media_append(media_id: str, request: Request) -> Response:
        token = authenticate(request, "media.write")
        if isinstance(token, JSONResponse):
            return token
        upload = upload_of(media_id, token.user_id)
        if upload is None or upload.finalized:
            return invalid_request(f"Unknown or finalized media id {media_id}", "id")
        form = await request.form()
        chunk, index = form.get("media"), form.get("segment_index")
        if chunk is None or isinstance(chunk, str) or index is None:
            return invalid_request("media and segment_index are required")
        data = await chunk.read()
        with emulator.lock:
            upload.segments[int(str(index))] = data
        return JSONResponse({"data": {"expires_at": int(time.time()) + 86400}})

    @app.post("/2/media/upload/{media_id}/finalize")
    async def media_finalize(media_id: str, request: Request) -> Response:
        token = authenticate(request, "media.write")
        if isinstance(token, JSONResponse):
            return token
        upload = upload_of(media_id, token.user_id)
        if upload is None:
            return invalid_request(f"Unknown media id {media_id}", "id")
        received = sum(len(part) for part in upload.segments.values())
        if received != upload.total_bytes:
            return invalid_request(f"File size mismatch: expected {upload.total_bytes} bytes, got {received}")
        with emulator.lock:
            upload.finalized = True
        return JSONResponse({"data": media_view(upload)})

    @app.get("/2/media/upload")
    async def media_status(request: Request) -> Response:
        token = authenticate(request, "media.write")
        if isinstance(token, JSONResponse):
            return token
        if request.query_params.get("command") != "STATUS":
            return invalid_request("command must be STATUS", "command")
        upload = upload_of(request.query_params.get("media_id", ""), token.user_id)
        if upload is None or not upload.finalized:
            return invalid_request("Unknown or unfinalized media_id", "media_id")
        with emulator.lock:
            upload.status_polls += 1
        return JSONResponse({"data": media_view(upload)})

    @app.post("/2/media/metadata")
    async def media_metadata(request: Request) -> Response:
        token = authenticate(request, "media.write")
        if isinstance(token, JSONResponse):
            return token
        try:
            spec = json.loads(await request.body())
            media_id, alt_text = str(spec["id"]), spec["metadata"]["alt_text"]["text"]
        except (ValueError, KeyError, TypeError):
            return invalid_request("id and metadata.alt_text.text are required")
        upload = upload_of(media_id, token.user_id)
        if upload is None:
            return invalid_request(f"Unknown media id {media_id}", "id")
        if len(alt_text) > 1000:
            return invalid_request("alt_text must be at most 1000 characters")
        with emulator.lock:
            upload.alt_text = alt_text
        return JSONResponse({"data": {"id": media_id, "associated_metadata": True}})

    return app
