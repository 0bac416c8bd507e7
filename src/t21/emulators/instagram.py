"""An emulator of the Instagram Graph API (Instagram Login): OAuth, short- and long-lived tokens,
media containers that finish processing, carousels, publishing once per container, the 24-hour
publishing quota, media listing and insights that grow with time.

Inspect it from tests through `app.state.emulator` (an `InstagramEmulator`):
`store["containers"]`, `store["media"]`, `store["users"]`, `store["tokens"]`.

Publishing, as Meta documents it (Instagram Platform: "Content Publishing", reference "IG Container",
"IG User Media", "IG User Media Publish", "Error Codes"):
- `POST /{ig-user-id}/media_publish?creation_id={container}` answers `{"id": <IG media id>}`; from then
  on the container's `status_code` reads `PUBLISHED`. A container publishes at most once: publishing
  it again is refused (400, code 9004, subcode 2207008) and creates nothing.
- `GET /{container-id}?fields=...` knows only the documented fields `id`, `status_code`, `status`
  and `copyright_check_status`: it never tells which media a container became. Asking for any
  other field is refused as Graph does: 400 `(#100) Tried accessing nonexisting field (...)`.
  So after a lost `media_publish` answer, `PUBLISHED` proves the post is live, but the media id
  can only be found in the account's media list.
- `GET /{ig-user-id}/media?fields=id,caption,timestamp` lists the account's media newest first
  (`caption` is left out for media without one; `timestamp` is `YYYY-MM-DDTHH:MM:SS+0000`), paged
  with `limit` and `paging.cursors.after`. A media appears there only after it was published, and
  only once the network's settle time has passed: `create_app(publish_settle_seconds=N)` or the
  control `POST /_emulator/settle {"seconds": N}` (default 0; the emulator clock, moved with
  `POST /_emulator/clock`, decides). Until then the list does not show it although the container
  already reads `PUBLISHED`, so a reader can see "not found yet".
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

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

SHORT_TTL = 3600.0
LONG_TTL = 60 * 24 * 3600.0
CONTAINER_TTL = 24 * 3600.0
QUOTA_TOTAL = 50
QUOTA_DURATION = 86400
INSIGHT_METRICS = ("views", "reach", "likes", "comments", "shares", "saved", "total_interactions")
PUBLISH_SCOPE = "instagram_business_content_publish"
INSIGHTS_SCOPE = "instagram_business_manage_insights"
# Caption limits (IG User Media reference): 2,200 characters, 30 hashtags, 20 @ tags. Counted here
# from the documentation (every occurrence counts), not with T21's own helpers.
CAPTION_LIMIT = 2200
_HASHTAG = re.compile(r"(?<![\w&#])#\w+")
_MENTION = re.compile(r"(?<![\w@])@[\w.]+")
CONTAINER_FIELDS = ("id", "status_code", "status", "copyright_check_status")
DEFAULT_USER = {
    "user_id": "17841400000000001",
    "id": "26000000000000001",
    "username": "t21sandbox",
    "name": "T21 Sandbox",
}


@dataclass
class Container:
    id: str
    user_id: str
    media_type: str  # IMAGE | VIDEO | REELS | CAROUSEL
    caption: str
    created_at: float
    media_url: str | None = None
    children: list[str] = field(default_factory=list)
    is_carousel_item: bool = False
    status_reads: int = 0
    published_media_id: str | None = None


@dataclass
class Media:
    id: str
    user_id: str
    caption: str
    media_type: str
    created_at: float
    container_id: str
    deleted: bool = False


@dataclass
class InstagramEmulator(SocialEmulator):
    # Status reads a container answers IN_PROGRESS before FINISHED (Meta is still fetching the media).
    container_polls: int = 1
    quota_total: int = QUOTA_TOTAL
    # Seconds after a publish before the media shows in `GET /{ig-user-id}/media`.
    publish_settle_seconds: float = 0.0

    def containers(self) -> dict[str, Container]:
        return self.store["containers"]

    def media(self) -> dict[str, Media]:
        return self.store["media"]

    def status_of(self, container: Container) -> str:
        if container.published_media_id is not None:
            return "PUBLISHED"
        if self.now() - container.created_at > CONTAINER_TTL:
            return "EXPIRED"
        return "FINISHED" if container.status_reads > self.container_polls else "IN_PROGRESS"


def _seed(emulator: SocialEmulator) -> None:
    emulator.store.update(containers={}, media={})
    emulator.store["users"][DEFAULT_USER["user_id"]] = dict(DEFAULT_USER)


def graph_error(
    message: str,
    code: int,
    *,
    subcode: int | None = None,
    kind: str = "OAuthException",
    user_msg: str | None = None,
    transient: bool = False,
) -> dict[str, Any]:
    error: dict[str, Any] = {
        "message": message,
        "type": kind,
        "code": code,
        "is_transient": transient,
        "fbtrace_id": secrets.token_urlsafe(12),
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if user_msg is not None:
        error["error_user_title"] = "Cannot publish"
        error["error_user_msg"] = user_msg
    return {"error": error}


def _timestamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def create_app(*, container_polls: int = 1, publish_settle_seconds: float = 0.0) -> FastAPI:
    app = FastAPI(title="Instagram Graph API (T21 emulator)")
    emulator = InstagramEmulator(
        name="instagram",
        seed=_seed,
        container_polls=container_polls,
        publish_settle_seconds=publish_settle_seconds,
    )

    def error(body: dict[str, Any], status: int = 400) -> JSONResponse:
        return JSONResponse(body, status_code=status)

    def throttled(reset_in: float) -> JSONResponse:
        minutes = max(1, round(reset_in / 60))
        usage = {"call_count": 100, "total_cputime": 25, "total_time": 25}
        business = {
            DEFAULT_USER["user_id"]: [
                {"type": "instagram", **usage, "estimated_time_to_regain_access": minutes}
            ]
        }
        return JSONResponse(
            graph_error("Application request limit reached", 4, transient=True),
            status_code=429,
            headers={"x-app-usage": json.dumps(usage), "x-business-use-case-usage": json.dumps(business)},
        )

    def expired() -> JSONResponse:
        moment = datetime.fromtimestamp(emulator.now(), UTC).strftime("%A, %d-%b-%y %H:%M:%S UTC")
        return error(
            graph_error(f"Error validating access token: Session has expired on {moment}.", 190, subcode=463)
        )

    def revoked() -> JSONResponse:
        message = (
            "Error validating access token: The session has been invalidated because the user changed their "
            "password or Facebook has changed the session for security reasons."
        )
        return error(graph_error(message, 190, subcode=460))

    def invalid_token() -> JSONResponse:
        return error(graph_error("Invalid OAuth access token - Cannot parse access token", 190))

    def fault_response(fault: Fault, request: Request) -> Response:
        if fault.kind == "rate_limit":
            return throttled(fault.reset_in)
        if fault.kind == "expired_token":
            return expired()
        if fault.kind == "revoked_token":
            return revoked()
        body = fault.body or graph_error(
            "An unexpected error has occurred. Please retry your request later.", 2, transient=True
        )
        return JSONResponse(body, status_code=fault.status)

    install_emulator(app, emulator, fault_response=fault_response)

    def delete_media(media_id: str) -> bool:
        with emulator.lock:
            media = emulator.media().get(media_id)
            if media is None:
                return False
            media.deleted = True
            return True

    install_social_controls(app, emulator, delete_post=delete_media)

    @app.post("/_emulator/settle", include_in_schema=False)
    async def _settle(spec: dict[str, Any]) -> Response:
        seconds = float(spec.get("seconds", 0))
        if seconds < 0:
            return JSONResponse({"error": "seconds must be >= 0"}, status_code=400)
        with emulator.lock:
            emulator.publish_settle_seconds = seconds
        return JSONResponse({"ok": True, "seconds": seconds})

    async def params_of(request: Request) -> dict[str, str]:
        """Graph takes parameters from the query string and the form body alike."""
        merged = dict(request.query_params)
        if request.method == "POST":
            content_type = request.headers.get("content-type", "")
            if content_type.startswith("application/json"):
                body = await request.body()
                merged.update({k: str(v) for k, v in (json.loads(body) if body else {}).items()})
            else:
                merged.update({k: str(v) for k, v in (await request.form()).items()})
        return merged

    def authenticate(
        request: Request, params: dict[str, str], scope: str | None = None
    ) -> IssuedToken | JSONResponse:
        token = emulator.token(bearer_of(request) or params.get("access_token"))
        problem = emulator.token_problem(token)
        if problem == "expired":
            return expired()
        if problem == "revoked":
            return revoked()
        if token is None or problem is not None:
            return invalid_token()
        if scope is not None and scope not in token.scopes:
            return error(graph_error("(#10) Application does not have permission for this action", 10), 403)
        return token

    def own_user(token: IssuedToken, user_id: str) -> JSONResponse | None:
        if user_id != token.user_id:
            return missing_object(user_id, "post")
        return None

    def missing_object(object_id: str, method: str = "get") -> JSONResponse:
        message = (
            f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be loaded "
            "due to missing permissions, or does not support this operation."
        )
        return error(graph_error(message, 100, subcode=33, kind="GraphMethodException"))

    # --- OAuth ---------------------------------------------------------------------------------

    @app.get("/authorize")
    async def authorize(request: Request) -> Response:
        q = request.query_params
        missing = [n for n in ("client_id", "redirect_uri", "response_type", "scope") if not q.get(n)]
        if missing or q.get("response_type") != "code":
            return error(
                graph_error(f"Invalid request: missing {', '.join(missing) or 'response_type=code'}", 100)
            )
        state = {"state": q["state"]} if q.get("state") else {}
        if authorization_denied(emulator, request):
            return redirect_with(
                q["redirect_uri"],
                {
                    "error": "access_denied",
                    "error_reason": "user_denied",
                    "error_description": "Permissions error",
                    **state,
                },
            )
        code = emulator.issue_code(
            client_id=q["client_id"],
            redirect_uri=q["redirect_uri"],
            user_id=DEFAULT_USER["user_id"],
            scopes=q["scope"].replace(" ", ",").split(","),
            code_challenge=None,
        )
        return redirect_with(q["redirect_uri"], {"code": code.value, **state})

    @app.post("/access_token")
    async def exchange_code(request: Request) -> Response:
        form = await params_of(request)
        if form.get("grant_type") != "authorization_code":
            return error(
                {"error_type": "OAuthException", "code": 400, "error_message": "Unsupported grant_type"}
            )
        code = emulator.redeem_code(
            form.get("code", ""),
            client_id=form.get("client_id", ""),
            redirect_uri=form.get("redirect_uri", ""),
        )
        if code is None:
            return error(
                {
                    "error_type": "OAuthException",
                    "code": 400,
                    "error_message": "Error validating verification code.",
                }
            )
        short = emulator.issue_token(
            "short",
            user_id=code.user_id,
            client_id=code.client_id,
            scopes=code.scopes,
            ttl=SHORT_TTL,
            prefix="IGQ",
        )
        return JSONResponse(
            {
                "data": [
                    {
                        "access_token": short.value,
                        "user_id": code.user_id,
                        "permissions": ",".join(code.scopes),
                    }
                ]
            }
        )

    def long_lived(user_id: str, client_id: str, scopes: list[str]) -> JSONResponse:
        token = emulator.issue_token(
            "access", user_id=user_id, client_id=client_id, scopes=scopes, ttl=LONG_TTL, prefix="IGAA"
        )
        return JSONResponse(
            {"access_token": token.value, "token_type": "bearer", "expires_in": int(LONG_TTL)}
        )

    @app.get("/access_token")
    async def exchange_long_lived(request: Request) -> Response:
        q = request.query_params
        if q.get("grant_type") != "ig_exchange_token" or "client_secret" not in q:
            return error(graph_error("grant_type=ig_exchange_token and client_secret are required", 100))
        short = emulator.token(q.get("access_token"), "short")
        problem = emulator.token_problem(short)
        if short is None or problem is not None:
            return expired() if problem == "expired" else invalid_token()
        return long_lived(short.user_id, short.client_id, short.scopes)

    @app.get("/refresh_access_token")
    async def refresh(request: Request) -> Response:
        q = request.query_params
        if q.get("grant_type") != "ig_refresh_token":
            return error(graph_error("grant_type=ig_refresh_token is required", 100))
        token = authenticate(request, dict(q))
        if isinstance(token, JSONResponse):
            return token
        return long_lived(token.user_id, token.client_id, token.scopes)

    # --- the account ---------------------------------------------------------------------------

    @app.get("/me")
    async def me(request: Request) -> Response:
        params = await params_of(request)
        token = authenticate(request, params)
        if isinstance(token, JSONResponse):
            return token
        with emulator.lock:
            user = dict(emulator.store["users"][token.user_id])
        fields = params.get("fields", "id").split(",")
        user["profile_picture_url"] = f"https://scontent.cdninstagram.com/{user['user_id']}.jpg"
        return JSONResponse({name: user[name] for name in {"id", *fields} if name in user})

    @app.get("/{user_id}/content_publishing_limit")
    async def publishing_limit(user_id: str, request: Request) -> Response:
        params = await params_of(request)
        token = authenticate(request, params)
        if isinstance(token, JSONResponse):
            return token
        if refused := own_user(token, user_id):
            return refused
        entry: dict[str, Any] = {"quota_usage": published_last_day(user_id)}
        if "config" in params.get("fields", ""):
            entry["config"] = {"quota_total": emulator.quota_total, "quota_duration": QUOTA_DURATION}
        return JSONResponse({"data": [entry]})

    def published_last_day(user_id: str) -> int:
        since = emulator.now() - QUOTA_DURATION
        with emulator.lock:
            return sum(1 for m in emulator.media().values() if m.user_id == user_id and m.created_at >= since)

    # --- containers and publishing -------------------------------------------------------------

    def caption_problem(caption: str) -> JSONResponse | None:
        reasons = []
        if len(caption) > CAPTION_LIMIT:
            reasons.append("The caption is longer than 2200 characters.")
        if len(_HASHTAG.findall(caption)) > 30:
            reasons.append("The caption contains more than 30 hashtags.")
        if len(_MENTION.findall(caption)) > 20:
            reasons.append("The caption contains more than 20 mentions.")
        if not reasons:
            return None
        return error(graph_error("Invalid parameter", 100, subcode=2207010, user_msg=" ".join(reasons)))

    def bad_url(url: str | None) -> bool:
        parts = urlsplit(url or "")
        return parts.scheme not in ("http", "https") or not parts.netloc

    @app.post("/{user_id}/media")
    async def create_container(user_id: str, request: Request) -> Response:
        params = await params_of(request)
        token = authenticate(request, params, PUBLISH_SCOPE)
        if isinstance(token, JSONResponse):
            return token
        if refused := own_user(token, user_id):
            return refused
        caption = params.get("caption", "")
        is_item = params.get("is_carousel_item", "false").lower() == "true"
        media_type = params.get("media_type", "IMAGE").upper()
        children: list[str] = []
        if media_type == "CAROUSEL":
            children = [c for c in params.get("children", "").split(",") if c]
            if not 2 <= len(children) <= 10:
                return error(
                    graph_error(
                        "Invalid parameter", 100, subcode=2207028, user_msg="A carousel needs 2 to 10 items."
                    )
                )
            with emulator.lock:
                for child_id in children:
                    child = emulator.containers().get(child_id)
                    if child is None or child.user_id != user_id or not child.is_carousel_item:
                        return missing_object(child_id)
                    if emulator.status_of(child) != "FINISHED":
                        return error(
                            graph_error(
                                "Media ID is not available",
                                9007,
                                subcode=2207027,
                                user_msg="A carousel item is not ready.",
                            )
                        )
            media_url = None
        elif media_type in ("VIDEO", "REELS"):
            media_url = params.get("video_url")
        elif media_type == "IMAGE":
            media_url = params.get("image_url")
        else:
            return error(graph_error(f"Unsupported media_type {media_type}", 100, subcode=2207023))
        if media_type != "CAROUSEL" and bad_url(media_url):
            return error(
                graph_error(
                    "Media download has failed.",
                    9004,
                    subcode=2207052,
                    user_msg="The media could not be fetched from this URI.",
                )
            )
        if refused := caption_problem(caption):
            return refused
        container = Container(
            id=str(emulator.next_id("container", 17900000000000000)),
            user_id=user_id,
            media_type=media_type,
            caption=caption,
            created_at=emulator.now(),
            media_url=media_url,
            children=children,
            is_carousel_item=is_item,
        )
        with emulator.lock:
            emulator.containers()[container.id] = container
        return JSONResponse({"id": container.id})

    @app.post("/{user_id}/media_publish")
    async def publish(user_id: str, request: Request) -> Response:
        params = await params_of(request)
        token = authenticate(request, params, PUBLISH_SCOPE)
        if isinstance(token, JSONResponse):
            return token
        if refused := own_user(token, user_id):
            return refused
        creation_id = params.get("creation_id", "")
        with emulator.lock:
            container = emulator.containers().get(creation_id)
            if container is None or container.user_id != user_id:
                return missing_object(creation_id, "post")
            status = emulator.status_of(container)
            if status == "PUBLISHED":
                return error(
                    graph_error(
                        "Media has already been published",
                        9004,
                        subcode=2207008,
                        user_msg="This media container has already been published.",
                    )
                )
            if status == "EXPIRED":
                return error(graph_error("The media container has expired", 9004, subcode=2207020))
            if status != "FINISHED" or container.is_carousel_item:
                return error(
                    graph_error(
                        "Media ID is not available",
                        9007,
                        subcode=2207027,
                        user_msg="The media is not ready for publishing, please wait for a moment",
                    )
                )
            if published_last_day(user_id) >= emulator.quota_total:
                return error(
                    graph_error(
                        "Application request limit reached",
                        9,
                        subcode=2207042,
                        user_msg="You reached the maximum number of posts that is allowed to be published.",
                    )
                )
            media = Media(
                id=str(emulator.next_id("media", 17950000000000000)),
                user_id=user_id,
                caption=container.caption,
                media_type="CAROUSEL_ALBUM" if container.media_type == "CAROUSEL" else container.media_type,
                created_at=emulator.now(),
                container_id=container.id,
            )
            emulator.media()[media.id] = media
            container.published_media_id = media.id
        return JSONResponse({"id": media.id})

    @app.get("/{user_id}/media")
    async def list_media(user_id: str, request: Request) -> Response:
        params = await params_of(request)
        token = authenticate(request, params)
        if isinstance(token, JSONResponse):
            return token
        if refused := own_user(token, user_id):
            return refused
        limit = min(int(params.get("limit", "25")), 100)
        offset = int(params.get("after", "0") or 0)
        fields = params.get("fields", "id").split(",")
        settled_before = emulator.now() - emulator.publish_settle_seconds
        with emulator.lock:
            mine = sorted(
                (
                    m
                    for m in emulator.media().values()
                    if m.user_id == user_id and not m.deleted and m.created_at <= settled_before
                ),
                key=lambda m: (m.created_at, int(m.id)),
                reverse=True,
            )
        page = mine[offset : offset + limit]
        body: dict[str, Any] = {"data": [media_view(m, fields) for m in page]}
        if page:
            body["paging"] = {"cursors": {"before": str(offset), "after": str(offset + len(page))}}
            if offset + limit < len(mine):
                base = str(request.url.remove_query_params(["after", "access_token"]))
                separator = "&" if "?" in base else "?"
                body["paging"]["next"] = f"{base}{separator}after={offset + len(page)}"
        return JSONResponse(body)

    def media_view(media: Media, fields: list[str]) -> dict[str, Any]:
        age = emulator.now() - media.created_at
        values = {
            "id": media.id,
            **({"caption": media.caption} if media.caption else {}),
            "timestamp": _timestamp(media.created_at),
            "media_type": media.media_type,
            "permalink": f"https://www.instagram.com/p/{media.id}/",
            "like_count": grown(media.id, "likes", age, 0.4),
            "comments_count": grown(media.id, "comments", age, 0.05),
        }
        return {name: values[name] for name in {"id", *fields} if name in values}

    @app.get("/{media_id}/insights")
    async def insights(media_id: str, request: Request) -> Response:
        params = await params_of(request)
        token = authenticate(request, params, INSIGHTS_SCOPE)
        if isinstance(token, JSONResponse):
            return token
        with emulator.lock:
            media = emulator.media().get(media_id)
        if media is None or media.deleted or media.user_id != token.user_id:
            return missing_object(media_id)
        wanted = [m for m in params.get("metric", "").split(",") if m]
        unknown = [m for m in wanted if m not in INSIGHT_METRICS]
        if not wanted or unknown:
            message = f"(#100) metric[0] must be one of the following values: {', '.join(INSIGHT_METRICS)}"
            return error(graph_error(message, 100))
        age = emulator.now() - media.created_at
        values = {
            "views": grown(media.id, "views", age, 5.0),
            "reach": grown(media.id, "reach", age, 3.0),
            "likes": grown(media.id, "likes", age, 0.4),
            "comments": grown(media.id, "comments", age, 0.05),
            "shares": grown(media.id, "shares", age, 0.03),
            "saved": grown(media.id, "saved", age, 0.05),
        }
        values["total_interactions"] = (
            values["likes"] + values["comments"] + values["shares"] + values["saved"]
        )
        data = [
            {
                "name": name,
                "period": "lifetime",
                "values": [{"value": values[name]}],
                "title": name.replace("_", " ").title(),
                "id": f"{media_id}/insights/{name}/lifetime",
            }
            for name in wanted
        ]
        return JSONResponse({"data": data})

    @app.get("/{node_id}")
    async def node(node_id: str, request: Request) -> Response:
        params = await params_of(request)
        token = authenticate(request, params)
        if isinstance(token, JSONResponse):
            return token
        fields = params.get("fields", "id").split(",")
        with emulator.lock:
            container = emulator.containers().get(node_id)
            media = emulator.media().get(node_id)
            if container is not None and container.user_id == token.user_id:
                unknown = [f for f in fields if f and f not in CONTAINER_FIELDS]
                if unknown:
                    message = (
                        f"(#100) Tried accessing nonexisting field ({unknown[0]}) on node type "
                        "(ShadowIGMediaBuilder)"
                    )
                    return error(graph_error(message, 100))
                if "status_code" in fields or "status" in fields:
                    container.status_reads += 1
                status = emulator.status_of(container)
                values = {
                    "id": container.id,
                    "status_code": status,
                    "status": _status_text(status),
                    "copyright_check_status": {"matches_found": False, "status": "completed"},
                }
                return JSONResponse({name: values[name] for name in {"id", *fields} if name in values})
        if media is not None and not media.deleted and media.user_id == token.user_id:
            return JSONResponse(media_view(media, fields))
        return missing_object(node_id)

    return app


def _status_text(status: str) -> str:
    return {
        "IN_PROGRESS": "In Progress: Media is still being processed.",
        "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
        "PUBLISHED": "Published: Media has been published.",
        "EXPIRED": "Expired: The container was not published within 24 hours.",
    }[status]
