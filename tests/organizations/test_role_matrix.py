"""The role matrix (t21.organizations.roles.ROLE_MATRIX) against the API and the README.

- The README's "Roles" table is the matrix (rendered by `roles_markdown()`).
- Every operation of the live OpenAPI that acts on a brand or an organization (an id in its path,
  or a brandId/organizationId/... in its query or body) is in CASES with the action it performs;
  the completeness test fails for a new operation that is not, so the walk stays complete.
- Each case is called by each member of one organization (viewer, editor, admin, owner) on the
  organization's brand and objects: a role below the action's role gets 403 with the API's code,
  a role at or above it gets past the role check (the answer the case expects, 2xx unless said).

One world per module: its own database (not the per-run one the root conftest empties before each
test), T21 on loopback with every outside network emulated, four members, a brand with a sandbox X
account, media, an AI generation and a draft. Cases that destroy what they act on (delete a brand, a
post, media, an account, the organization; remove or leave) get a fresh object before each call.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from t21.emulators.base import RunningServer
from t21.enums import Role
from t21.main import create_app
from t21.organizations.roles import ROLE_MATRIX, ROLE_ORDER, Action, allows, roles_markdown
from tests.conftest import PASSWORD, ROOT, make_settings
from tests.security._support import PNG, Sandbox, own_database
from tests.security.test_tenant_walk import ID_FIELD, id_references, spec_operations

STRIPE_KEY = "sk_test_roles"
WEBHOOK_SECRET = "whsec_roles"
FUTURE = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Case:
    """One operation performing one action. `query`/`body` are templates: "{brand_id}" etc. name
    the world's ids (and "{me}" the caller, "{unique_email}" a new address); `fresh` names what to
    make anew before each call; `allowed` the statuses a role that may act expects."""

    label: str
    action: Action
    query: dict[str, Any] | None = None
    body: Any = None
    fresh: str | None = None
    allowed: tuple[int, ...] = (200, 201, 202, 204)
    code: str = "forbidden"
    multipart: bool = False

    @property
    def id(self) -> str:
        return f"{self.label} [{self.action.value}]"


POST_BODY = {"brandId": "{brand_id}", "content": "A draft", "platforms": ["x"]}
AI_BODY = {"brandId": "{brand_id}", "prompt": "A launch post", "platform": "x"}
CASES: list[Case] = [
    # --- brands ---
    Case("GET /api/v1/brands", Action.view_organization, query={"organizationId": "{org_id}"}),
    Case("POST /api/v1/brands", Action.create_brands, body={"name": "Another", "organizationId": "{org_id}"}),
    Case("GET /api/v1/brands/{brand_id}", Action.view_brand),
    Case("PATCH /api/v1/brands/{brand_id}", Action.edit_brand, body={"name": "Renamed"}),
    Case("DELETE /api/v1/brands/{brand_id}", Action.delete_brand, fresh="brand"),
    # --- posts ---
    Case("GET /api/v1/posts", Action.view_posts, query={"brandId": "{brand_id}"}),
    Case("POST /api/v1/posts", Action.write_posts, body=POST_BODY),
    Case(
        "POST /api/v1/posts",
        Action.publish_posts,
        body={
            "brandId": "{brand_id}",
            "content": "Scheduled",
            "socialAccountIds": ["{account_id}"],
            "scheduledFor": FUTURE,
        },
    ),
    Case(
        "POST /api/v1/posts/validate",
        Action.view_media,
        body={"brandId": "{brand_id}", "content": "hi", "platforms": ["x"], "mediaIds": ["{media_id}"]},
    ),
    Case("GET /api/v1/posts/{post_id}", Action.view_posts),
    Case("PATCH /api/v1/posts/{post_id}", Action.write_posts, body={"content": "Edited"}, fresh="post"),
    Case("PATCH /api/v1/posts/{post_id}", Action.publish_posts, body={"scheduledFor": FUTURE}, fresh="post"),
    Case("DELETE /api/v1/posts/{post_id}", Action.write_posts, fresh="post"),
    Case("POST /api/v1/posts/{post_id}/duplicate", Action.write_posts),
    Case("POST /api/v1/posts/{post_id}/publish-now", Action.publish_posts, fresh="post"),
    # A draft has no failed target: past the role check, there is nothing to retry.
    Case("POST /api/v1/posts/{post_id}/retry", Action.publish_posts, body={}, allowed=(409,)),
    # --- media ---
    Case("GET /api/v1/media", Action.view_media, query={"brandId": "{brand_id}"}),
    Case("POST /api/v1/media", Action.upload_media, multipart=True),
    # Past the role check the address is refused (loopback): 422 unsafe_url.
    Case(
        "POST /api/v1/media/import",
        Action.upload_media,
        body={"brandId": "{brand_id}", "url": "http://127.0.0.1:9/a.png"},
        allowed=(422,),
    ),
    Case("GET /api/v1/media/{media_id}", Action.view_media),
    Case("DELETE /api/v1/media/{media_id}", Action.delete_media, fresh="media"),
    # --- social accounts ---
    Case("GET /api/v1/social-accounts", Action.view_social_accounts, query={"brandId": "{brand_id}"}),
    Case("GET /api/v1/social-accounts/{account_id}", Action.view_social_accounts),
    Case(
        "GET /api/v1/social-accounts/connect/{platform}",
        Action.connect_social_accounts,
        query={"brandId": "{brand_id}"},
    ),
    Case("POST /api/v1/social-accounts/{account_id}/reconnect", Action.connect_social_accounts),
    Case("DELETE /api/v1/social-accounts/{account_id}", Action.disconnect_social_accounts, fresh="account"),
    # --- AI ---
    Case("POST /api/v1/ai/generate-content", Action.use_ai, body=AI_BODY),
    Case("POST /api/v1/ai/generate-content/stream", Action.use_ai, body=AI_BODY),
    Case(
        "POST /api/v1/ai/rewrite",
        Action.use_ai,
        body={"brandId": "{brand_id}", "text": "Hello there", "targetPlatform": "x"},
    ),
    Case("GET /api/v1/ai/generations", Action.view_ai_history, query={"brandId": "{brand_id}"}),
    Case("GET /api/v1/ai/generations/{generation_id}", Action.view_ai_history),
    # --- analytics ---
    Case("GET /api/v1/analytics/brands/{brand_id}/best-times", Action.view_analytics),
    Case("GET /api/v1/analytics/brands/{brand_id}/summary", Action.view_analytics),
    Case("GET /api/v1/analytics/brands/{brand_id}/timeseries", Action.view_analytics),
    Case("GET /api/v1/analytics/brands/{brand_id}/top-posts", Action.view_analytics),
    Case("GET /api/v1/analytics/posts/{post_id}", Action.view_analytics),
    # --- the organization ---
    Case("GET /api/v1/organizations/{org_id}", Action.view_organization),
    Case("PATCH /api/v1/organizations/{org_id}", Action.edit_organization, body={"name": "Renamed org"}),
    Case("DELETE /api/v1/organizations/{org_id}", Action.delete_organization, fresh="org"),
    Case("GET /api/v1/organizations/{org_id}/members", Action.view_organization),
    Case("GET /api/v1/organizations/{org_id}/invitations", Action.invite_members),
    Case(
        "POST /api/v1/organizations/{org_id}/invitations",
        Action.invite_members,
        body={"email": "{unique_email}", "role": "viewer"},
    ),
    Case("DELETE /api/v1/organizations/{org_id}/invitations/{invitation_id}", Action.invite_members),
    Case(
        "PATCH /api/v1/organizations/{org_id}/members/{user_id}",
        Action.change_member_roles,
        body={"role": "viewer"},
    ),
    Case("DELETE /api/v1/organizations/{org_id}/members/{user_id}", Action.remove_members, fresh="member"),
    # Leaving: {user_id} is the caller; the owner cannot leave (422 owner_cannot_leave).
    Case(
        "DELETE /api/v1/organizations/{org_id}/members/{user_id}",
        Action.leave_organization,
        fresh="org_to_leave",
        allowed=(204, 422),
    ),
    # --- billing (billing on: Stripe emulated) ---
    Case("GET /api/v1/subscriptions/current", Action.view_plan, query={"organizationId": "{org_id}"}),
    Case(
        "POST /api/v1/subscriptions/checkout",
        Action.manage_billing,
        body={"tier": "PRO", "organizationId": "{org_id}"},
        code="billing_owner_only",
    ),
    # The portal once checkout made a Stripe customer (200), else 409 no_customer.
    Case(
        "POST /api/v1/subscriptions/portal",
        Action.manage_billing,
        body={"organizationId": "{org_id}"},
        code="billing_owner_only",
        allowed=(200, 409),
    ),
    Case(
        "GET /api/v1/invoices",
        Action.manage_billing,
        query={"organizationId": "{org_id}"},
        code="billing_owner_only",
    ),
]

ADMIN_ONLY = "a person on the instance: instance admins only (tests/admin)"
# Operations with an id that names no brand or organization (the caller's own things, or a secret).
NOT_SCOPED: dict[str, str] = {
    "DELETE /api/v1/api-keys/{key_id}": "the caller's own API key",
    "POST /api/v1/notifications/{notification_id}/read": "the caller's own notification",
    "POST /api/v1/invitations/accept": "the token is a secret sent by email; any signed-in person",
    "GET /api/v1/social-accounts/callback/{platform}": "the OAuth state names the person and brand; "
    "the role is checked again when it completes (tests/accounts)",
    "GET /api/v1/admin/users/{user_id}": ADMIN_ONLY,
    "POST /api/v1/admin/users/{user_id}/disable": ADMIN_ONLY,
    "POST /api/v1/admin/users/{user_id}/enable": ADMIN_ONLY,
    "POST /api/v1/admin/users/{user_id}/resend-verification": ADMIN_ONLY,
    "DELETE /api/v1/me/sessions/{session_id}": "the caller's own session (another's: 404, tests/auth)",
    "GET /api/v1/me/export/{export_id}": "a signed link from the export email; no session (tests/account)",
}


# --- the world --------------------------------------------------------------------------------


@dataclass
class Member:
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    http: httpx.Client
    sandbox: Sandbox
    members: dict[Role, Member] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def ok(self, response: httpx.Response, *codes: int) -> Any:
        assert response.status_code in codes, f"{response.request.method} {response.url}: {response.text}"
        return response.json() if response.content else None

    def call(self, who: Member, method: str, url: str, **kw: Any) -> httpx.Response:
        return self.http.request(method, url, headers={**who.headers, **kw.pop("headers", {})}, **kw)

    def register(self) -> Member:
        email = f"role-{uuid.uuid4().hex[:10]}@example.com"
        body = self.ok(
            self.http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "M"}),
            201,
        )
        return Member(body["user"]["id"], body["tokens"]["accessToken"])

    @property
    def owner(self) -> Member:
        return self.members[Role.owner]

    def join(self, org_id: str, who: Member, role: Role) -> None:
        """`who` joins `org_id` with `role`, invited by the owner (as a person would)."""
        me = self.ok(self.call(who, "GET", "/api/v1/auth/me"), 200)
        invite = self.ok(
            self.call(
                self.owner,
                "POST",
                f"/api/v1/organizations/{org_id}/invitations",
                json={"email": me["email"], "role": role.value},
            ),
            201,
        )
        self.ok(
            self.call(who, "POST", "/api/v1/invitations/accept", json={"token": invite["token"]}), 200, 201
        )

    def organization(self) -> str:
        """A new organization of the owner's, with the other three members at their roles."""
        org = self.ok(self.call(self.owner, "POST", "/api/v1/organizations", json={"name": "Org"}), 201)
        for role in (Role.viewer, Role.editor, Role.admin):
            self.join(org["id"], self.members[role], role)
        return str(org["id"])

    def brand(self) -> str:
        body = {"name": "Brand", "toneOfVoice": "friendly", "organizationId": self.ids["org_id"]}
        return str(self.ok(self.call(self.owner, "POST", "/api/v1/brands", json=body), 201)["id"])

    def post(self) -> str:
        body = {
            "brandId": self.ids["brand_id"],
            "content": "A draft",
            "socialAccountIds": [self.ids["account_id"]],
        }
        return str(self.ok(self.call(self.owner, "POST", "/api/v1/posts", json=body), 201)["id"])

    def media(self) -> str:
        response = self.call(
            self.owner,
            "POST",
            "/api/v1/media",
            files={"file": ("a.png", PNG, "image/png")},
            data={"brandId": self.ids["brand_id"]},
        )
        return str(self.ok(response, 201)["id"])

    def account(self, platform: str) -> str:
        """The sandbox account of `platform` connected to the brand by the owner (the OAuth dance);
        connecting it again gives back the same account."""
        started = self.ok(
            self.call(
                self.owner,
                "GET",
                f"/api/v1/social-accounts/connect/{platform}",
                params={"brandId": self.ids["brand_id"]},
            ),
            200,
        )
        with httpx.Client(follow_redirects=False) as browser:
            approve = browser.get(started["authorizationUrl"])
        callback = urlsplit(approve.headers["location"])
        done = self.call(
            self.owner, "GET", f"{callback.path}?{callback.query}", headers={"Accept": "application/json"}
        )
        return str(self.ok(done, 200)["id"])

    def fresh(self, what: str | None, caller: Member) -> dict[str, str]:
        if what is None:
            return {}
        if what == "brand":
            return {"brand_id": self.brand()}
        if what == "post":
            return {"post_id": self.post()}
        if what == "media":
            return {"media_id": self.media()}
        if what == "account":
            return {"account_id": self.account("linkedin")}
        if what == "org":
            return {"org_id": self.organization()}
        if what == "org_to_leave":
            return {"org_id": self.organization(), "user_id": caller.user_id}
        if what == "member":
            someone = self.register()
            self.join(self.ids["org_id"], someone, Role.viewer)
            return {"user_id": someone.user_id}
        raise AssertionError(f"unknown fresh object {what!r}")


@pytest.fixture(scope="module")
def world(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from t21.emulators.stripe import DEFAULT_PRICE_BUSINESS, DEFAULT_PRICE_PRO
    from t21.emulators.stripe import create_app as create_stripe_app

    tmp: Path = tmp_path_factory.mktemp("roles")
    with (
        own_database(pg_server_url, "t21_roles") as database_url,
        RunningServer(create_stripe_app(webhook_secret=WEBHOOK_SECRET)) as stripe,
    ):
        sandbox = Sandbox().start()
        settings = make_settings(
            database_url,
            tmp,
            default_tier="BUSINESS",
            rate_limit_auth="100000/minute",
            rate_limit_default="100000/minute",
            rate_limit_anonymous="100000/minute",
            stripe_secret_key=STRIPE_KEY,
            stripe_webhook_secret=WEBHOOK_SECRET,
            stripe_api_base=stripe.url,
            stripe_price_pro=DEFAULT_PRICE_PRO,
            stripe_price_business=DEFAULT_PRICE_BUSINESS,
            **sandbox.settings(),
        )
        server = RunningServer(create_app(settings)).start()
        try:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                w = World(http, sandbox)
                for role in ROLE_ORDER:
                    w.members[role] = w.register()
                w.ids["org_id"] = w.organization()
                w.ids["brand_id"] = w.brand()
                w.ids["account_id"] = w.account("x")
                w.ids["media_id"] = w.media()
                w.ids["post_id"] = w.post()
                generation = w.ok(
                    w.call(w.owner, "POST", "/api/v1/ai/generate-content", json=fill(AI_BODY, w.ids)), 200
                )
                w.ids["generation_id"] = generation.get("generationId") or generation["id"]
                invite = w.ok(
                    w.call(
                        w.owner,
                        "POST",
                        f"/api/v1/organizations/{w.ids['org_id']}/invitations",
                        json={"email": "invited@example.com", "role": "viewer"},
                    ),
                    201,
                )
                w.ids["invitation_id"] = invite["id"]
                target = w.register()  # the member whose role is changed
                w.join(w.ids["org_id"], target, Role.viewer)
                w.ids["user_id"] = target.user_id
                w.ids["platform"] = "x"
                yield w
        finally:
            server.stop()
            sandbox.stop()


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        match = re.fullmatch(r"\{(\w+)\}", value)
        return ids[match.group(1)] if match else value
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


# --- the tests ----------------------------------------------------------------------------------


def test_the_readme_roles_table_is_the_matrix() -> None:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"^## Roles\n(.*?)(?=^## )", readme, re.S | re.M)
    assert match, "the README has no '## Roles' section"
    lines = [line for line in match.group(1).splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == ["Action", *(role.value for role in ROLE_ORDER)], header
    documented: dict[str, set[str]] = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        name = re.match(r"`(\w+)`", cells[0])
        assert name, f"a README row without an `action`: {line}"
        documented[name.group(1)] = {
            role.value for role, mark in zip(ROLE_ORDER, cells[1:], strict=True) if mark == "✓"
        }
    expected = {
        action.value: {role.value for role in ROLE_ORDER if allows(role, action)} for action in Action
    }
    differences = {
        name: {
            "README": sorted(documented.get(name, set())),
            "ROLE_MATRIX": sorted(expected.get(name, set())),
        }
        for name in documented.keys() | expected.keys()
        if documented.get(name) != expected.get(name)
    }
    assert not differences, f"README 'Roles' and ROLE_MATRIX differ: {differences}"
    # The wording too: paste `roles_markdown()` into the README.
    assert "\n".join(lines) == roles_markdown(), "re-render the README table with roles_markdown()"


def test_every_action_has_a_role_and_an_endpoint() -> None:
    assert set(ROLE_MATRIX) == set(Action)
    assert {case.action for case in CASES} == set(Action)


def test_every_brand_or_organization_operation_is_in_the_matrix(world: World) -> None:
    spec = world.http.get("/api/v1/openapi.json").json()
    ops = spec_operations(spec)
    scoped = {
        label
        for label, op in ops.items()
        if any(p["in"] == "path" and ID_FIELD.search(_camel(p["name"])) for p in op.get("parameters", []))
        or id_references(spec, op)
    }
    covered = {case.label for case in CASES}
    missing = scoped - covered - set(NOT_SCOPED)
    assert not missing, f"operations on a brand or organization with no action in CASES: {sorted(missing)}"
    stale = (covered | set(NOT_SCOPED)) - set(ops)
    assert not stale, f"CASES names operations that no longer exist: {sorted(stale)}"


def _camel(name: str) -> str:
    """brand_id -> brandId; {platform} stays (a network, not an id)."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_each_role_gets_what_the_matrix_says(world: World, case: Case) -> None:
    method, path = case.label.split(" ", 1)
    failures = []
    for role in ROLE_ORDER:
        caller = world.members[role]
        ids = {**world.ids, **world.fresh(case.fresh, caller)}
        ids |= {"me": caller.user_id, "unique_email": f"new-{uuid.uuid4().hex[:10]}@example.com"}
        kw: dict[str, Any] = {"params": fill(case.query, ids)}
        if case.multipart:
            kw |= {"files": {"file": ("a.png", PNG, "image/png")}, "data": {"brandId": ids["brand_id"]}}
        elif case.body is not None:
            kw["json"] = fill(case.body, ids)
        response = world.call(caller, method, path.format(**ids), **kw)
        payload = (
            response.json()
            if response.content and response.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        if allows(role, case.action):
            if response.status_code not in case.allowed:
                failures.append(
                    f"{role.value} may {case.action.value}: got {response.status_code} {response.text[:300]}"
                )
        elif (response.status_code, payload.get("code")) != (403, case.code):
            failures.append(
                f"{role.value} may not {case.action.value} (needs {ROLE_MATRIX[case.action].value}): "
                f"expected 403 {case.code}, got {response.status_code} {response.text[:300]}"
            )
    assert not failures, f"{case.id}:\n" + "\n".join(failures)
