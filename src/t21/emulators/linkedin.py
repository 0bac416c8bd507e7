"""An emulator of LinkedIn's member APIs: OAuth 2.0 (3-legged), `/v2/userinfo`, versioned
`/rest/posts` with little-text commentary, image and video uploads, social metadata and creator
post analytics.

It enforces what LinkedIn enforces: the `LinkedIn-Version` header on `/rest` (missing -> 400,
retired -> 426 NONEXISTENT_VERSION), the author being the token's member, and little text: an
unescaped reserved character silently cuts the commentary there, as LinkedIn does.

Inspect it from tests through `app.state.emulator` (a `LinkedInEmulator`):
`store["posts"]` (urn -> Post, with `rendered` = what readers see), `store["images"]`, `store["videos"]`.

Permissions, as LinkedIn documents them (Microsoft Learn: "Posts API" under Community Management,
"Getting Access to LinkedIn APIs", "Sign In with LinkedIn using OpenID Connect", "Share on LinkedIn"):
- An app holds the scopes of the products added to it. Every app here has the self-serve ones:
  `openid profile email` (Sign In with LinkedIn using OpenID Connect) and `w_member_social` (Share on
  LinkedIn). `r_member_social` (read the member's posts) is a restricted permission LinkedIn grants
  only to approved partners: an app has it only when `create_app(approved_scopes=["r_member_social"])`
  or the control `POST /_emulator/apps/approve {"client_id": ..., "scopes": ["r_member_social"]}`
  (no client_id = every app) says so. A reset withdraws approvals made by the control.
- The authorization page refuses a request for a scope the app does not hold, as LinkedIn does:
  it redirects with `error=unauthorized_scope_error&error_description=Scope "r_member_social" is not
  authorized for your application` (and the state) and grants nothing. A granted token carries
  exactly the scopes requested (all of them held by the app).
- `GET /rest/posts?q=author&author=urn:li:person:..` and `GET /rest/posts/{urn}` read member posts:
  both need `r_member_social`. Without it: 403 `{"status": 403, "serviceErrorCode": 100,
  "code": "ACCESS_DENIED", "message": "Not enough permissions to access: partnerApiPostsExternal...."}`.
  So an ordinary app cannot find a post whose create answer was lost: the `x-restli-id` header of the
  201 answer to `POST /rest/posts` is the only id it ever learns.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterable
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

ACCESS_TTL = 60 * 24 * 3600.0
REFRESH_TTL = 365 * 24 * 3600.0
COMMENTARY_LIMIT = 3000
VIDEO_PART = 4 * 1024 * 1024
RESERVED = frozenset("\\|{}@[]()<>#*_~")
_HASHTAG_TEMPLATE = re.compile(r"\{hashtag\|\\#\|((?:\\.|[^}\\])*)\}")
_MENTION_TEMPLATE = re.compile(r"@\[((?:\\.|[^\]\\])*)\]\((urn:li:[a-zA-Z]+:[^)]+)\)")
_ANALYTICS_ENTITY = re.compile(r"^\((share|ugc):(urn:li:[a-zA-Z]+:.+)\)$")
ANALYTICS_TYPES = ("IMPRESSION", "MEMBERS_REACHED", "REACTION", "COMMENT", "RESHARE")
METRIC_TYPE_KEY = "com.linkedin.adsexternalapi.memberanalytics.v1.CreatorPostAnalyticsMetricTypeV1"
# Scopes of the self-serve products every app has; restricted ones need LinkedIn's approval.
SELF_SERVE_SCOPES = frozenset({"openid", "profile", "email", "w_member_social"})
RESTRICTED_SCOPES = frozenset({"r_member_social", "r_member_postAnalytics", "r_organization_social"})
READ_POSTS_SCOPE = "r_member_social"
DEFAULT_MEMBER = {
    "sub": "t21SbxQ9",
    "given_name": "T21",
    "family_name": "Sandbox",
    "email": "sandbox@t21.local",
}


@dataclass
class Post:
    id: str
    author: str
    commentary: str  # little text as stored (cut at the first unescaped reserved character)
    rendered: str  # what a reader sees
    body: dict[str, Any]
    created_at: float
    deleted: bool = False


@dataclass
class Asset:
    urn: str
    owner: str
    kind: str  # "image" | "video"
    size: int = 0
    parts: dict[int, bytes] = field(default_factory=dict)
    etags: list[str] = field(default_factory=list)
    uploaded: bool = False
    finalized: bool = False
    status_reads: int = 0


@dataclass
class LinkedInEmulator(SocialEmulator):
    # Oldest LinkedIn-Version still served; anything older is answered 426.
    oldest_version: str = "202401"
    # Refresh tokens are for LinkedIn's approved partners only.
    issue_refresh_tokens: bool = False
    # Status reads a finalized video answers PROCESSING before AVAILABLE.
    video_processing_polls: int = 1
    # Restricted scopes LinkedIn approved, by client_id ("*" = every app). Empty: no partner.
    approved_scopes: dict[str, list[str]] = field(default_factory=dict)

    def app_scopes(self, client_id: str) -> set[str]:
        with self.lock:
            extra = [*self.approved_scopes.get("*", []), *self.approved_scopes.get(client_id, [])]
        return set(SELF_SERVE_SCOPES) | set(extra)

    def posts(self) -> dict[str, Post]:
        return self.store["posts"]

    def assets(self) -> dict[str, Asset]:
        return self.store["assets"]


def _seed(emulator: SocialEmulator) -> None:
    emulator.store.update(posts={}, assets={})
    emulator.store["users"][DEFAULT_MEMBER["sub"]] = dict(DEFAULT_MEMBER)


def parse_little_text(commentary: str) -> tuple[str, str]:
    """(commentary as kept, rendered text). Like LinkedIn, stop at an unescaped reserved character."""
    rendered: list[str] = []
    i = 0
    while i < len(commentary):
        char = commentary[i]
        if char == "\\" and i + 1 < len(commentary):
            rendered.append(commentary[i + 1])
            i += 2
            continue
        if char == "{" and (match := _HASHTAG_TEMPLATE.match(commentary, i)):
            rendered.append("#" + re.sub(r"\\(.)", r"\1", match.group(1)))
            i = match.end()
            continue
        if char == "@" and (match := _MENTION_TEMPLATE.match(commentary, i)):
            rendered.append(re.sub(r"\\(.)", r"\1", match.group(1)))
            i = match.end()
            continue
        if char in RESERVED:
            return commentary[:i], "".join(rendered)
        rendered.append(char)
        i += 1
    return commentary, "".join(rendered)


def li_error(status: int, code: str, message: str, service_code: int = 100) -> JSONResponse:
    return JSONResponse(
        {"status": status, "serviceErrorCode": service_code, "code": code, "message": message},
        status_code=status,
    )


def create_app(
    *,
    issue_refresh_tokens: bool = False,
    oldest_version: str = "202401",
    approved_scopes: Iterable[str] = (),
) -> FastAPI:
    """`approved_scopes`: restricted scopes (e.g. `r_member_social`) LinkedIn approved for every app,
    as for a partner; by default none."""
    app = FastAPI(title="LinkedIn API (T21 emulator)")
    emulator = LinkedInEmulator(
        name="linkedin",
        seed=_seed,
        issue_refresh_tokens=issue_refresh_tokens,
        oldest_version=oldest_version,
        approved_scopes={"*": sorted(approved_scopes)} if approved_scopes else {},
    )

    def expired() -> JSONResponse:
        return li_error(401, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired", 65601)

    def revoked() -> JSONResponse:
        return li_error(
            401, "REVOKED_ACCESS_TOKEN", "The token used in the request has been revoked by the user", 65602
        )

    def fault_response(fault: Fault, request: Request) -> Response:
        if fault.kind == "rate_limit":
            # LinkedIn documents no reset header on its throttling answers.
            message = "Resource level throttle APPLICATION DAY limit for calls to this resource is reached."
            return li_error(429, "TOO_MANY_REQUESTS", message, 101)
        if fault.kind == "expired_token":
            return expired()
        if fault.kind == "revoked_token":
            return revoked()
        if fault.body is not None:
            return JSONResponse(fault.body, status_code=fault.status)
        return li_error(fault.status, "INTERNAL_SERVER_ERROR", "Internal Server Error", 0)

    install_emulator(app, emulator, fault_response=fault_response)

    def delete_post(urn: str) -> bool:
        with emulator.lock:
            post = emulator.posts().get(urn)
            if post is None:
                return False
            post.deleted = True
            return True

    install_social_controls(app, emulator, delete_post=delete_post)

    @app.post("/_emulator/apps/approve", include_in_schema=False)
    async def _approve(spec: dict[str, Any]) -> Response:
        scopes = [str(s) for s in spec.get("scopes", [READ_POSTS_SCOPE])]
        unknown = [s for s in scopes if s not in RESTRICTED_SCOPES]
        if unknown:
            return JSONResponse({"error": f"not a restricted scope: {unknown}"}, status_code=400)
        client_id = str(spec.get("client_id") or "*")
        with emulator.lock:
            held = emulator.approved_scopes.setdefault(client_id, [])
            held.extend(s for s in scopes if s not in held)
        return JSONResponse({"ok": True, "client_id": client_id, "approved": held})

    def member_urn(user_id: str) -> str:
        return f"urn:li:person:{user_id}"

    def authenticate(request: Request, scope: str | None = None) -> IssuedToken | JSONResponse:
        token = emulator.token(bearer_of(request))
        problem = emulator.token_problem(token)
        if problem == "expired":
            return expired()
        if problem == "revoked":
            return revoked()
        if token is None or problem is not None:
            return li_error(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600)
        if scope is not None and scope not in token.scopes:
            return li_error(403, "ACCESS_DENIED", f"Not enough permissions to access this resource ({scope})")
        return token

    def posts_read_denied(token: IssuedToken, request: Request, method: str) -> JSONResponse | None:
        """Reading member posts needs r_member_social, which ordinary apps are not granted."""
        if READ_POSTS_SCOPE in token.scopes:
            return None
        version = request.headers.get("linkedin-version", "")
        return li_error(
            403,
            "ACCESS_DENIED",
            f"Not enough permissions to access: partnerApiPostsExternal.{method}.{version}01",
        )

    def versioned(request: Request, scope: str | None = None) -> IssuedToken | JSONResponse:
        """Authentication plus LinkedIn's version gate for `/rest` resources."""
        version = request.headers.get("linkedin-version")
        if not version:
            return li_error(
                400,
                "VERSION_MISSING",
                "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
            )
        current = datetime.fromtimestamp(emulator.now(), UTC).strftime("%Y%m")
        if not re.fullmatch(r"\d{6}", version) or not emulator.oldest_version <= version <= current:
            return li_error(426, "NONEXISTENT_VERSION", f"Requested version {version} is not active")
        return authenticate(request, scope)

    # --- OAuth 2.0 ---------------------------------------------------------------------------

    @app.get("/authorization")
    async def authorization(request: Request) -> Response:
        q = request.query_params
        missing = [n for n in ("response_type", "client_id", "redirect_uri", "scope") if not q.get(n)]
        if missing or q.get("response_type") != "code":
            return JSONResponse(
                {
                    "error": "invalid_request",
                    "error_description": f"missing {', '.join(missing) or 'response_type'}",
                },
                status_code=400,
            )
        state = {"state": q["state"]} if q.get("state") else {}
        if authorization_denied(emulator, request):
            return redirect_with(
                q["redirect_uri"],
                {
                    "error": "user_cancelled_authorize",
                    "error_description": "The user cancelled the authorization",
                    **state,
                },
            )
        scopes = q["scope"].replace(",", " ").split()
        held = emulator.app_scopes(q["client_id"])
        refused = [scope for scope in scopes if scope not in held]
        if refused:
            # LinkedIn refuses the whole authorization; it does not grant the rest.
            return redirect_with(
                q["redirect_uri"],
                {
                    "error": "unauthorized_scope_error",
                    "error_description": f'Scope "{refused[0]}" is not authorized for your application',
                    **state,
                },
            )
        code = emulator.issue_code(
            client_id=q["client_id"],
            redirect_uri=q["redirect_uri"],
            user_id=DEFAULT_MEMBER["sub"],
            scopes=scopes,
            code_challenge=None,
        )
        return redirect_with(q["redirect_uri"], {"code": code.value, **state})

    def token_error(error: str, description: str) -> JSONResponse:
        return JSONResponse({"error": error, "error_description": description}, status_code=400)

    @app.post("/accessToken")
    async def access_token(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        client_id = form.get("client_id", "")
        if not client_id or "client_secret" not in form:
            return token_error(
                "invalid_request", 'A required parameter "client_id" or "client_secret" is missing'
            )
        now = emulator.now()
        if form.get("grant_type") == "authorization_code":
            code = emulator.redeem_code(
                form.get("code", ""), client_id=client_id, redirect_uri=form.get("redirect_uri", "")
            )
            if code is None:
                return token_error(
                    "invalid_request",
                    "Unable to retrieve access token: appid/redirect uri/code verifier does not match "
                    "authorization code. Or authorization code expired.",
                )
            user_id, scopes = code.user_id, code.scopes
            refresh = (
                emulator.issue_token(
                    "refresh", user_id=user_id, client_id=client_id, scopes=scopes, ttl=REFRESH_TTL
                )
                if emulator.issue_refresh_tokens
                else None
            )
        elif form.get("grant_type") == "refresh_token":
            refresh = emulator.token(form.get("refresh_token"), "refresh")
            if (
                refresh is None
                or emulator.token_problem(refresh) is not None
                or refresh.client_id != client_id
            ):
                return token_error("invalid_grant", "The provided refresh token is invalid or has expired")
            user_id, scopes = refresh.user_id, refresh.scopes
        else:
            return token_error("unsupported_grant_type", "Unsupported grant_type")
        access = emulator.issue_token(
            "access", user_id=user_id, client_id=client_id, scopes=scopes, ttl=ACCESS_TTL
        )
        body: dict[str, Any] = {
            "access_token": access.value,
            "expires_in": int(ACCESS_TTL),
            "scope": ",".join(scopes),
            "token_type": "Bearer",
        }
        if "openid" in scopes:
            body["id_token"] = secrets.token_urlsafe(48)
        if refresh is not None and refresh.expires_at is not None:
            # The refresh token keeps its original expiry: using it does not extend it.
            body.update(refresh_token=refresh.value, refresh_token_expires_in=int(refresh.expires_at - now))
        return JSONResponse(body)

    @app.post("/revoke")
    async def revoke(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        with emulator.lock:
            found = emulator.store["tokens"].get(form.get("token", ""))
            if found is not None:
                found.revoked = True
        return Response(status_code=200)

    @app.get("/v2/userinfo")
    async def userinfo(request: Request) -> Response:
        token = authenticate(request, "openid")
        if isinstance(token, JSONResponse):
            return token
        with emulator.lock:
            member = dict(emulator.store["users"][token.user_id])
        return JSONResponse(
            {
                "sub": member["sub"],
                "name": f"{member['given_name']} {member['family_name']}",
                "given_name": member["given_name"],
                "family_name": member["family_name"],
                "picture": f"https://media.licdn.com/dms/image/{member['sub']}/profile.jpg",
                "locale": {"country": "US", "language": "en"},
                "email": member["email"],
                "email_verified": True,
            }
        )

    # --- posts ---------------------------------------------------------------------------------

    def media_problem(content: Any, author: str) -> JSONResponse | None:
        if content is None:
            return None
        if not isinstance(content, dict):
            return li_error(422, "UNPROCESSABLE_ENTITY", "/content must be an object")
        if "media" in content:
            ids = [content["media"].get("id")]
        elif "multiImage" in content:
            ids = [image.get("id") for image in content["multiImage"].get("images", [])]
            if not 2 <= len(ids) <= 20:
                return li_error(
                    422, "UNPROCESSABLE_ENTITY", "/content/multiImage/images must hold 2 to 20 images"
                )
        else:
            return li_error(422, "UNPROCESSABLE_ENTITY", f"Unsupported content {sorted(content)}")
        with emulator.lock:
            for urn in ids:
                asset = emulator.assets().get(str(urn))
                if asset is None or asset.owner != author or not asset_available(asset, count_read=False):
                    return li_error(422, "UNPROCESSABLE_ENTITY", f"Media {urn} is not available")
        return None

    @app.post("/rest/posts")
    async def create_post(request: Request) -> Response:
        token = versioned(request, "w_member_social")
        if isinstance(token, JSONResponse):
            return token
        try:
            body = json.loads(await request.body())
        except ValueError:
            return li_error(400, "BAD_REQUEST", "Request body is not valid JSON")
        missing = [
            name
            for name in ("author", "commentary", "visibility", "distribution", "lifecycleState")
            if not isinstance(body, dict) or name not in body
        ]
        if missing:
            return li_error(
                422, "UNPROCESSABLE_ENTITY", f"ERROR :: /{missing[0]} :: field is required but not found"
            )
        author = member_urn(token.user_id)
        if body["author"] != author:
            return li_error(403, "ACCESS_DENIED", f"Member is not allowed to post as {body['author']}")
        if body["lifecycleState"] != "PUBLISHED" or body["visibility"] not in (
            "PUBLIC",
            "CONNECTIONS",
            "LOGGED_IN",
        ):
            return li_error(
                422, "UNPROCESSABLE_ENTITY", "ERROR :: /lifecycleState or /visibility has an invalid value"
            )
        if refused := media_problem(body.get("content"), author):
            return refused
        commentary, rendered = parse_little_text(str(body["commentary"]))
        if len(rendered) > COMMENTARY_LIMIT:
            return li_error(
                422, "UNPROCESSABLE_ENTITY", f"ERROR :: /commentary :: length exceeds {COMMENTARY_LIMIT}"
            )
        with emulator.lock:
            for other in emulator.posts().values():
                if other.author == author and not other.deleted and other.rendered == rendered and rendered:
                    return li_error(422, "DUPLICATE_POST", f"Content is a duplicate of {other.id}")
            urn = f"urn:li:share:{emulator.next_id('share', 7400000000000000000)}"
            emulator.posts()[urn] = Post(
                id=urn,
                author=author,
                commentary=commentary,
                rendered=rendered,
                body=body,
                created_at=emulator.now(),
            )
        return Response(status_code=201, headers={"x-restli-id": urn, "x-linkedin-id": urn})

    def post_view(post: Post) -> dict[str, Any]:
        created_ms = int(post.created_at * 1000)
        view: dict[str, Any] = {
            key: post.body[key]
            for key in (
                "visibility",
                "distribution",
                "lifecycleState",
                "isReshareDisabledByAuthor",
                "content",
            )
            if key in post.body
        }
        view.update(
            id=post.id,
            author=post.author,
            commentary=post.commentary,
            createdAt=created_ms,
            publishedAt=created_ms,
            lastModifiedAt=created_ms,
        )
        return view

    @app.get("/rest/posts")
    async def find_posts(request: Request) -> Response:
        token = versioned(request)
        if isinstance(token, JSONResponse):
            return token
        if denied := posts_read_denied(token, request, "FINDER-author"):
            return denied
        q = request.query_params
        if q.get("q") != "author" or not q.get("author"):
            return li_error(400, "BAD_REQUEST", "q=author and author are required")
        if q["author"] != member_urn(token.user_id):
            return li_error(403, "ACCESS_DENIED", f"Not enough permissions to read posts of {q['author']}")
        start, count = int(q.get("start", "0")), min(int(q.get("count", "10")), 100)
        with emulator.lock:
            mine = sorted(
                (p for p in emulator.posts().values() if p.author == q["author"] and not p.deleted),
                key=lambda p: p.created_at,
                reverse=True,
            )
        page = mine[start : start + count]
        return JSONResponse(
            {
                "elements": [post_view(p) for p in page],
                "paging": {"start": start, "count": count, "total": len(mine)},
            }
        )

    def live_post(urn: str) -> Post | None:
        with emulator.lock:
            post = emulator.posts().get(urn)
        return post if post is not None and not post.deleted else None

    def not_found(urn: str) -> JSONResponse:
        return li_error(404, "NOT_FOUND", f"Not Found: {urn}", 0)

    @app.get("/rest/posts/{urn}")
    async def get_post(urn: str, request: Request) -> Response:
        token = versioned(request)
        if isinstance(token, JSONResponse):
            return token
        if denied := posts_read_denied(token, request, "GET"):
            return denied
        post = live_post(urn)
        return JSONResponse(post_view(post)) if post else not_found(urn)

    @app.delete("/rest/posts/{urn}")
    async def remove_post(urn: str, request: Request) -> Response:
        token = versioned(request, "w_member_social")
        if isinstance(token, JSONResponse):
            return token
        post = live_post(urn)
        if post is None or post.author != member_urn(token.user_id):
            return not_found(urn)
        delete_post(urn)
        return Response(status_code=204)

    # --- media ---------------------------------------------------------------------------------

    def asset_available(asset: Asset, *, count_read: bool) -> bool:
        if asset.kind == "image":
            return asset.uploaded
        if count_read and asset.finalized:
            asset.status_reads += 1
        return asset.finalized and asset.status_reads >= emulator.video_processing_polls

    def upload_base(request: Request) -> str:
        return str(request.base_url).rstrip("/") + "/dms-uploads"

    @app.post("/rest/images")
    async def images_action(request: Request) -> Response:
        token = versioned(request, "w_member_social")
        if isinstance(token, JSONResponse):
            return token
        if request.query_params.get("action") != "initializeUpload":
            return li_error(400, "BAD_REQUEST", "action=initializeUpload is required")
        try:
            owner = json.loads(await request.body())["initializeUploadRequest"]["owner"]
        except (ValueError, KeyError, TypeError):
            return li_error(
                422, "UNPROCESSABLE_ENTITY", "ERROR :: /initializeUploadRequest/owner :: field is required"
            )
        if owner != member_urn(token.user_id):
            return li_error(403, "ACCESS_DENIED", f"Member cannot upload images for {owner}")
        asset_id = f"C4E{secrets.token_hex(8).upper()}"
        urn = f"urn:li:image:{asset_id}"
        with emulator.lock:
            emulator.assets()[urn] = Asset(urn=urn, owner=owner, kind="image")
        return JSONResponse(
            {
                "value": {
                    "uploadUrlExpiresAt": int((time.time() + 86400) * 1000),
                    "uploadUrl": f"{upload_base(request)}/images/{asset_id}",
                    "image": urn,
                }
            }
        )

    @app.put("/dms-uploads/images/{asset_id}")
    async def upload_image(asset_id: str, request: Request) -> Response:
        token = authenticate(request)
        if isinstance(token, JSONResponse):
            return token
        data = await request.body()
        with emulator.lock:
            asset = emulator.assets().get(f"urn:li:image:{asset_id}")
            if asset is None or asset.owner != member_urn(token.user_id) or not data:
                return li_error(400, "BAD_REQUEST", "Unknown upload or empty body")
            asset.parts[0], asset.size, asset.uploaded = data, len(data), True
        return Response(status_code=201)

    @app.get("/rest/images/{urn}")
    async def get_image(urn: str, request: Request) -> Response:
        return await asset_status(urn, request)

    async def asset_status(urn: str, request: Request) -> Response:
        token = versioned(request)
        if isinstance(token, JSONResponse):
            return token
        with emulator.lock:
            asset = emulator.assets().get(urn)
            if asset is None or asset.owner != member_urn(token.user_id):
                return not_found(urn)
            if asset_available(asset, count_read=True):
                status = "AVAILABLE"
            elif asset.finalized:
                status = "PROCESSING"
            else:
                status = "WAITING_UPLOAD"
        return JSONResponse({"id": urn, "owner": asset.owner, "status": status})

    @app.post("/rest/videos")
    async def videos_action(request: Request) -> Response:
        token = versioned(request, "w_member_social")
        if isinstance(token, JSONResponse):
            return token
        action = request.query_params.get("action")
        try:
            spec = json.loads(await request.body())
        except ValueError:
            return li_error(400, "BAD_REQUEST", "Request body is not valid JSON")
        if action == "initializeUpload":
            init = spec.get("initializeUploadRequest", {})
            owner, size = init.get("owner"), int(init.get("fileSizeBytes", 0))
            if owner != member_urn(token.user_id) or size <= 0:
                return li_error(
                    422, "UNPROCESSABLE_ENTITY", "owner must be the member and fileSizeBytes positive"
                )
            asset_id = f"C5F{secrets.token_hex(8).upper()}"
            urn = f"urn:li:video:{asset_id}"
            with emulator.lock:
                emulator.assets()[urn] = Asset(urn=urn, owner=owner, kind="video", size=size)
            instructions = [
                {
                    "uploadUrl": f"{upload_base(request)}/videos/{asset_id}/{part}",
                    "firstByte": first,
                    "lastByte": min(first + VIDEO_PART, size) - 1,
                }
                for part, first in enumerate(range(0, size, VIDEO_PART))
            ]
            return JSONResponse(
                {
                    "value": {
                        "uploadUrlsExpireAt": int((time.time() + 86400) * 1000),
                        "video": urn,
                        "uploadInstructions": instructions,
                        "uploadToken": "",
                    }
                }
            )
        if action == "finalizeUpload":
            final = spec.get("finalizeUploadRequest", {})
            with emulator.lock:
                asset = emulator.assets().get(str(final.get("video")))
                if asset is None or asset.owner != member_urn(token.user_id):
                    return not_found(str(final.get("video")))
                received = sum(len(p) for p in asset.parts.values())
                if received != asset.size or final.get("uploadedPartIds") != asset.etags:
                    return li_error(
                        400, "BAD_REQUEST", "Uploaded parts do not match the video's size or part ids"
                    )
                asset.finalized = True
            return Response(status_code=200)
        return li_error(400, "BAD_REQUEST", "action must be initializeUpload or finalizeUpload")

    @app.put("/dms-uploads/videos/{asset_id}/{part}")
    async def upload_video_part(asset_id: str, part: int, request: Request) -> Response:
        token = authenticate(request)
        if isinstance(token, JSONResponse):
            return token
        data = await request.body()
        with emulator.lock:
            asset = emulator.assets().get(f"urn:li:video:{asset_id}")
            if asset is None or asset.owner != member_urn(token.user_id):
                return li_error(400, "BAD_REQUEST", "Unknown upload")
            asset.parts[part] = data
            etag = f"/ambry-video/{asset_id}-{part}"
            while len(asset.etags) <= part:
                asset.etags.append("")
            asset.etags[part] = etag
        return Response(status_code=200, headers={"etag": etag})

    @app.get("/rest/videos/{urn}")
    async def get_video(urn: str, request: Request) -> Response:
        return await asset_status(urn, request)

    # --- metrics -------------------------------------------------------------------------------

    @app.get("/rest/socialMetadata/{urn}")
    async def social_metadata(urn: str, request: Request) -> Response:
        token = versioned(request)
        if isinstance(token, JSONResponse):
            return token
        post = live_post(urn)
        if post is None:
            return not_found(urn)
        age = emulator.now() - post.created_at
        reactions = {
            kind: {"reactionType": kind, "count": grown(urn, kind, age, rate)}
            for kind, rate in (("LIKE", 0.4), ("PRAISE", 0.05), ("EMPATHY", 0.05), ("INTEREST", 0.02))
        }
        comments = grown(urn, "comments", age, 0.05)
        return JSONResponse(
            {
                "reactionSummaries": reactions,
                "commentsState": "OPEN",
                "commentSummary": {"count": comments, "topLevelCount": comments},
                "entity": urn,
            }
        )

    @app.get("/rest/memberCreatorPostAnalytics")
    async def creator_analytics(request: Request) -> Response:
        token = versioned(request)
        if isinstance(token, JSONResponse):
            return token
        q = request.query_params
        match = _ANALYTICS_ENTITY.match(q.get("entity", ""))
        query_type = q.get("queryType", "")
        if q.get("q") != "entity" or match is None or query_type not in ANALYTICS_TYPES:
            return li_error(
                400, "BAD_REQUEST", "q=entity, entity=(share:urn) and a known queryType are required"
            )
        urn = match.group(2)
        post = live_post(urn)
        if post is None or post.author != member_urn(token.user_id):
            return not_found(urn)
        age = emulator.now() - post.created_at
        rate = {"IMPRESSION": 5.0, "MEMBERS_REACHED": 3.0, "REACTION": 0.5, "COMMENT": 0.05, "RESHARE": 0.03}
        element = {
            "count": grown(urn, query_type, age, rate[query_type]),
            "metricType": {METRIC_TYPE_KEY: query_type},
            "targetEntity": {match.group(1): urn},
        }
        return JSONResponse({"paging": {"start": 0, "count": 10, "links": []}, "elements": [element]})

    return app
