from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Account, AppFactory, assert_error, client_for
from tests.plans import BILLING_ON


@pytest.fixture
async def team_app(app_factory: AppFactory) -> Any:
    # Seats come with paid plans; run this module as a BUSINESS self-host.
    return await app_factory(default_tier="BUSINESS")


@pytest.fixture
async def http(team_app):
    async with client_for(team_app) as c:
        yield c


async def make_team(register, http) -> dict[str, Any]:
    owner: Account = await register(on=http, name="Owner")
    org = (await owner.post("/api/v1/organizations", json={"name": "Agency"})).json()
    people = {"owner": owner}
    for role in ("admin", "editor", "viewer"):
        person: Account = await register(on=http, name=role.title())
        invite = await owner.post(
            f"/api/v1/organizations/{org['id']}/invitations", json={"email": person.email, "role": role}
        )
        assert invite.status_code == 201, invite.text
        accepted = await person.post("/api/v1/invitations/accept", json={"token": invite.json()["token"]})
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["role"] == role
        people[role] = person
    people["stranger"] = await register(on=http, name="Stranger")
    brand = await owner.create_brand(organizationId=org["id"], name="Client brand")
    return {"org": org, "brand": brand, **people}


async def test_invitation_flow_and_email(register, http, db) -> None:
    from sqlalchemy import text

    team = await make_team(register, http)
    members = (await team["viewer"].get(f"/api/v1/organizations/{team['org']['id']}/members")).json()["data"]
    assert sorted(m["role"] for m in members) == ["admin", "editor", "owner", "viewer"]
    async with db.engine.connect() as conn:
        subjects = (
            (await conn.execute(text("SELECT subject FROM email_messages WHERE template = 'team_invite'")))
            .scalars()
            .all()
        )
    assert len(subjects) == 3 and all("Agency" in s for s in subjects)


async def test_invitation_is_single_use_and_bound_to_email(register, http) -> None:
    owner = await register(on=http)
    org = (await owner.post("/api/v1/organizations", json={"name": "Org"})).json()
    invited = await register(on=http)
    other = await register(on=http)
    invite = (
        await owner.post(
            f"/api/v1/organizations/{org['id']}/invitations", json={"email": invited.email, "role": "editor"}
        )
    ).json()
    assert_error(
        await other.post("/api/v1/invitations/accept", json={"token": invite["token"]}),
        403,
        "invitation_email_mismatch",
    )
    assert (
        await invited.post("/api/v1/invitations/accept", json={"token": invite["token"]})
    ).status_code == 200
    assert_error(
        await invited.post("/api/v1/invitations/accept", json={"token": invite["token"]}),
        404,
        "invitation_invalid",
    )


# (actor, action, expected status)
ROLE_MATRIX = [
    ("viewer", "read_brand", 200),
    ("editor", "read_brand", 200),
    ("admin", "read_brand", 200),
    ("stranger", "read_brand", 404),
    ("viewer", "update_brand", 403),
    ("editor", "update_brand", 403),
    ("admin", "update_brand", 200),
    ("owner", "update_brand", 200),
    ("stranger", "update_brand", 404),
    ("viewer", "invite", 403),
    ("editor", "invite", 403),
    ("admin", "invite", 201),
    ("stranger", "invite", 404),
    ("viewer", "rename_org", 403),
    ("admin", "rename_org", 200),
    ("stranger", "rename_org", 404),
    ("admin", "delete_org", 403),
    ("editor", "delete_org", 403),
    ("stranger", "delete_org", 404),
    ("owner", "delete_org", 204),
    ("editor", "change_role", 403),
    ("admin", "change_role", 200),
    ("editor", "remove_member", 403),
    ("admin", "remove_member", 204),
    ("admin", "create_org_brand", 201),
    ("editor", "create_org_brand", 403),
]


@pytest.mark.parametrize(("actor", "action", "expected"), ROLE_MATRIX)
async def test_role_matrix(register, http, actor, action, expected) -> None:
    team = await make_team(register, http)
    org_id, brand_id = team["org"]["id"], team["brand"]["id"]
    who: Account = team[actor]
    viewer_id = team["viewer"].id
    calls = {
        "read_brand": lambda: who.get(f"/api/v1/brands/{brand_id}"),
        "update_brand": lambda: who.patch(f"/api/v1/brands/{brand_id}", json={"toneOfVoice": "bold"}),
        "invite": lambda: who.post(
            f"/api/v1/organizations/{org_id}/invitations",
            json={"email": "new.person@example.com", "role": "viewer"},
        ),
        "rename_org": lambda: who.patch(f"/api/v1/organizations/{org_id}", json={"name": "Renamed"}),
        "delete_org": lambda: who.delete(f"/api/v1/organizations/{org_id}"),
        "change_role": lambda: who.patch(
            f"/api/v1/organizations/{org_id}/members/{viewer_id}", json={"role": "editor"}
        ),
        "remove_member": lambda: who.delete(f"/api/v1/organizations/{org_id}/members/{viewer_id}"),
        "create_org_brand": lambda: who.post(
            "/api/v1/brands", json={"name": "New", "organizationId": org_id}
        ),
    }
    response = await calls[action]()
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert set(response.json()) == {"error", "code", "details"}


async def test_owner_cannot_be_demoted_or_removed(register, http) -> None:
    team = await make_team(register, http)
    org_id = team["org"]["id"]
    assert_error(
        await team["admin"].patch(
            f"/api/v1/organizations/{org_id}/members/{team['owner'].id}", json={"role": "viewer"}
        ),
        422,
        "owner_role_fixed",
    )
    assert_error(
        await team["admin"].delete(f"/api/v1/organizations/{org_id}/members/{team['owner'].id}"),
        422,
        "owner_cannot_leave",
    )


async def test_admin_cannot_grant_owner(register, http) -> None:
    team = await make_team(register, http)
    response = await team["admin"].patch(
        f"/api/v1/organizations/{team['org']['id']}/members/{team['viewer'].id}", json={"role": "owner"}
    )
    assert response.status_code == 422


async def test_member_can_leave(register, http) -> None:
    team = await make_team(register, http)
    org_id = team["org"]["id"]
    assert (
        await team["viewer"].delete(f"/api/v1/organizations/{org_id}/members/{team['viewer'].id}")
    ).status_code == 204
    assert_error(await team["viewer"].get(f"/api/v1/brands/{team['brand']['id']}"), 404)


async def test_seat_limit_on_free_plan(register, app_factory: AppFactory) -> None:
    async with client_for(await app_factory(**BILLING_ON)) as billed:
        owner = await register(on=billed)
        org = (await owner.post("/api/v1/organizations", json={"name": "Solo"})).json()
        response = await owner.post(
            f"/api/v1/organizations/{org['id']}/invitations",
            json={"email": "second@example.com", "role": "editor"},
        )
        assert_error(response, 402, "plan_limit_reached")


async def test_invitation_bad_input(register, http) -> None:
    owner = await register(on=http)
    org = (await owner.post("/api/v1/organizations", json={"name": "Org"})).json()
    url = f"/api/v1/organizations/{org['id']}/invitations"
    assert_error(await owner.post(url, json={"email": "nope", "role": "editor"}), 422)
    assert_error(await owner.post(url, json={"email": "a@example.com", "role": "owner"}), 422)
    assert_error(await owner.post(url, json={"email": "a@example.com", "role": "god"}), 422)
    assert_error(await owner.post("/api/v1/organizations", json={"name": " "}), 422)
