"""TOTP two-factor over HTTP on real PostgreSQL: setup and enable with a code, a second step at
login (rate limited per IP and per person, each code accepted once, recovery codes once), new
recovery codes, turning it off, and organizations that require it of their members."""

from __future__ import annotations

import re
from typing import Any

import pyotp
from sqlalchemy import text

from t21.kit.crypto import TokenVault, sha256_hex
from tests.conftest import PASSWORD, TEST_FERNET_KEY, Account, AppFactory, assert_error, client_for

LOGIN = "/api/v1/auth/login"
SECOND_STEP = "/api/v1/auth/login/2fa"
RECOVERY_CODE = re.compile(r"^[a-z2-9]{5}-[a-z2-9]{5}$")


def code_now(secret: str, clock: Any, *, ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.utcnow(), counter_offset=ahead)


def wrong_code(secret: str, clock: Any) -> str:
    valid = {code_now(secret, clock, ahead=a) for a in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


async def enable_two_factor(person: Account, clock: Any) -> tuple[str, list[str]]:
    setup = await person.post("/api/v1/me/2fa/setup")
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    enabled = await person.post("/api/v1/me/2fa/enable", json={"code": code_now(secret, clock)})
    assert enabled.status_code == 200, enabled.text
    return secret, enabled.json()["recoveryCodes"]


async def challenge_for(http: Any, email: str) -> str:
    answer = await http.post(LOGIN, json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["twoFactorRequired"] is True and "tokens" not in body and "user" not in body, body
    return str(body["challenge"])


async def test_two_factor_from_setup_to_disable(
    app_factory: AppFactory, register: Any, db: Any, clock: Any
) -> None:
    app = await app_factory(rate_limit_two_factor="50/minute")
    async with client_for(app) as http:
        alice: Account = await register(email="alice@example.com", on=http)
        assert (await alice.get("/api/v1/me/2fa")).json() == {"enabled": False, "recoveryCodesLeft": 0}

        setup = await alice.post("/api/v1/me/2fa/setup")
        assert setup.status_code == 200, setup.text
        secret, uri = setup.json()["secret"], setup.json()["otpauthUri"]
        assert uri.startswith("otpauth://totp/T21:alice%40example.com?") and f"secret={secret}" in uri
        assert "issuer=T21" in uri
        # The secret is stored encrypted with the app's Fernet keys.
        async with db.engine.connect() as conn:
            stored = (await conn.execute(text("SELECT secret_encrypted, enabled_at FROM two_factor"))).one()
        assert secret not in stored.secret_encrypted and stored.enabled_at is None
        assert TokenVault([TEST_FERNET_KEY]).decrypt(stored.secret_encrypted) == secret
        # Not confirmed yet: sign-in is unchanged.
        plain = await http.post(LOGIN, json={"email": alice.email, "password": PASSWORD})
        assert set(plain.json()) == {"user", "tokens"}

        assert_error(
            await alice.post("/api/v1/me/2fa/enable", json={"code": wrong_code(secret, clock)}),
            401,
            "invalid_two_factor_code",
        )
        enable_code = code_now(secret, clock)
        enabled = await alice.post("/api/v1/me/2fa/enable", json={"code": enable_code})
        assert enabled.status_code == 200, enabled.text
        codes = enabled.json()["recoveryCodes"]
        assert len(codes) == 10 == len(set(codes)) and all(RECOVERY_CODE.match(c) for c in codes)
        assert (await alice.get("/api/v1/me/2fa")).json() == {"enabled": True, "recoveryCodesLeft": 10}
        # Only their hashes are stored.
        async with db.engine.connect() as conn:
            hashes = {
                r[0] for r in await conn.execute(text("SELECT code_hash FROM two_factor_recovery_codes"))
            }
        assert hashes == {sha256_hex(c.replace("-", "")) for c in codes}
        assert_error(await alice.post("/api/v1/me/2fa/setup"), 409, "two_factor_already_enabled")

        # The password alone no longer signs in: a challenge, no tokens.
        challenge = await challenge_for(http, alice.email)
        # The code that turned it on is spent (same time step).
        assert_error(
            await http.post(SECOND_STEP, json={"challenge": challenge, "code": enable_code}),
            401,
            "invalid_two_factor_code",
        )
        wrong = await http.post(SECOND_STEP, json={"challenge": challenge, "code": wrong_code(secret, clock)})
        body = assert_error(wrong, 401, "invalid_two_factor_code")
        assert "6-digit code" in body["error"]
        # The next step's code (a phone's clock a little ahead) is accepted. (Not moving the
        # clock here: access tokens issued on a moved clock are "not yet valid" to PyJWT.)
        code = code_now(secret, clock, ahead=1)
        signed_in = await http.post(SECOND_STEP, json={"challenge": challenge, "code": code})
        assert signed_in.status_code == 200, signed_in.text
        assert signed_in.json()["user"]["email"] == "alice@example.com"
        access = signed_in.json()["tokens"]["accessToken"]
        me = await http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access}"})
        assert me.status_code == 200
        # The same code is never accepted twice, even with a new challenge.
        assert_error(
            await http.post(
                SECOND_STEP, json={"challenge": await challenge_for(http, alice.email), "code": code}
            ),
            401,
            "invalid_two_factor_code",
        )

        # A recovery code works once, however it is typed.
        typed = codes[0].upper().replace("-", " ")
        first = await http.post(
            SECOND_STEP, json={"challenge": await challenge_for(http, alice.email), "recoveryCode": typed}
        )
        assert first.status_code == 200, first.text
        assert_error(
            await http.post(
                SECOND_STEP,
                json={"challenge": await challenge_for(http, alice.email), "recoveryCode": codes[0]},
            ),
            401,
            "invalid_recovery_code",
        )
        assert (await alice.get("/api/v1/me/2fa")).json()["recoveryCodesLeft"] == 9

        # Challenges: short-lived, signed, not access tokens; one kind of code per request.
        stale = await challenge_for(http, alice.email)
        clock.advance(5 * 60 + 1)
        for bad in (stale, "not-a-challenge", alice.access_token):
            assert_error(
                await http.post(SECOND_STEP, json={"challenge": bad, "code": code_now(secret, clock)}),
                401,
                "invalid_two_factor_challenge",
            )
        assert_error(
            await http.post(
                SECOND_STEP,
                json={
                    "challenge": await challenge_for(http, alice.email),
                    "code": "123456",
                    "recoveryCode": codes[1],
                },
            ),
            422,
        )
        # A challenge is no access token either.
        assert_error(await http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {stale}"}), 401)

        # New recovery codes (with a code): the old ones stop working.
        clock.advance(30)
        renewed = await alice.post("/api/v1/me/2fa/recovery-codes", json={"code": code_now(secret, clock)})
        assert renewed.status_code == 200, renewed.text
        new_codes = renewed.json()["recoveryCodes"]
        assert len(new_codes) == 10 and not set(new_codes) & set(codes)
        assert_error(
            await http.post(
                SECOND_STEP,
                json={"challenge": await challenge_for(http, alice.email), "recoveryCode": codes[2]},
            ),
            401,
            "invalid_recovery_code",
        )

        # Turning it off takes the password and a code.
        clock.advance(30)
        assert_error(
            await alice.post(
                "/api/v1/me/2fa/disable", json={"password": "wrong password", "code": code_now(secret, clock)}
            ),
            401,
            "invalid_password",
        )
        assert_error(
            await alice.post(
                "/api/v1/me/2fa/disable", json={"password": PASSWORD, "code": wrong_code(secret, clock)}
            ),
            401,
            "invalid_two_factor_code",
        )
        off = await alice.post(
            "/api/v1/me/2fa/disable", json={"password": PASSWORD, "code": code_now(secret, clock)}
        )
        assert off.status_code == 204, off.text
        assert (await alice.get("/api/v1/me/2fa")).json() == {"enabled": False, "recoveryCodesLeft": 0}
        back = await http.post(LOGIN, json={"email": alice.email, "password": PASSWORD})
        assert set(back.json()) == {"user", "tokens"}
        async with db.engine.connect() as conn:
            left = (await conn.execute(text("SELECT count(*) FROM two_factor_recovery_codes"))).scalar_one()
        assert left == 0


async def test_brute_force_on_the_second_step_hits_the_per_person_limit(
    app_factory: AppFactory, register: Any, clock: Any
) -> None:
    # The per-IP limit is out of the way: the person's own limit stops the guesses (enabling
    # counted one).
    app = await app_factory(rate_limit_two_factor="4/minute", rate_limit_auth="100/minute")
    async with client_for(app) as http:
        bob: Account = await register(on=http)
        carol: Account = await register(on=http)
        secret, _ = await enable_two_factor(bob, clock)
        carol_secret, _ = await enable_two_factor(carol, clock)
        clock.advance(30)
        challenge = await challenge_for(http, bob.email)
        guesses = [
            (
                await http.post(SECOND_STEP, json={"challenge": challenge, "code": wrong_code(secret, clock)})
            ).status_code
            for _ in range(3)
        ]
        assert guesses == [401, 401, 401]
        # Even the right code waits now.
        limited = await http.post(SECOND_STEP, json={"challenge": challenge, "code": code_now(secret, clock)})
        body = assert_error(limited, 429, "rate_limited")
        assert body["details"]["retryAfter"] > 0 and int(limited.headers["Retry-After"]) > 0
        # Another person is not held back by bob's guesses.
        ok = await http.post(
            SECOND_STEP,
            json={"challenge": await challenge_for(http, carol.email), "code": code_now(carol_secret, clock)},
        )
        assert ok.status_code == 200, ok.text


async def test_the_second_step_is_limited_per_ip(app_factory: AppFactory) -> None:
    app = await app_factory(rate_limit_auth="3/minute")
    async with client_for(app) as http:
        statuses = [
            (await http.post(SECOND_STEP, json={"challenge": f"guess-{i}", "code": "123456"})).status_code
            for i in range(4)
        ]
        assert statuses == [401, 401, 401, 429]


async def test_an_organization_can_require_two_factor(
    app_factory: AppFactory, register: Any, clock: Any
) -> None:
    app = await app_factory(default_tier="BUSINESS")
    async with client_for(app) as http:
        owner: Account = await register(on=http)
        org = (await owner.post("/api/v1/organizations", json={"name": "Agency"})).json()
        assert org["requireTwoFactor"] is False
        people: dict[str, Account] = {}
        for role in ("admin", "editor"):
            person: Account = await register(on=http)
            invite = await owner.post(
                f"/api/v1/organizations/{org['id']}/invitations", json={"email": person.email, "role": role}
            )
            accepted = await person.post("/api/v1/invitations/accept", json={"token": invite.json()["token"]})
            assert accepted.status_code == 200, accepted.text
            people[role] = person
        admin, editor = people["admin"], people["editor"]
        brand = await owner.create_brand(organizationId=org["id"], name="Client")
        own_brand = await admin.create_brand(name="Admin's own")
        url = f"/api/v1/organizations/{org['id']}"

        # Requiring it takes two-factor yourself (or you would be locked out), and the admin role.
        body = assert_error(
            await owner.patch(url, json={"requireTwoFactor": True}), 403, "two_factor_required"
        )
        assert "yourself" in body["error"]
        assert_error(await editor.patch(url, json={"requireTwoFactor": True}), 403, "forbidden")
        await enable_two_factor(owner, clock)
        on = await owner.patch(url, json={"requireTwoFactor": True})
        assert (
            on.status_code == 200 and on.json()["requireTwoFactor"] is True and on.json()["name"] == "Agency"
        )

        # A member without it can read the organization and its brands, nothing more.
        assert (await admin.get(url)).status_code == 200
        assert (await admin.get(f"/api/v1/brands/{brand['id']}")).status_code == 200
        assert (await admin.get(f"{url}/members")).status_code == 200
        refused = await admin.patch(f"/api/v1/brands/{brand['id']}", json={"name": "Renamed"})
        assert "two-factor" in assert_error(refused, 403, "two_factor_required")["error"]
        assert_error(
            await admin.post(f"{url}/invitations", json={"email": "new@example.com", "role": "viewer"}),
            403,
            "two_factor_required",
        )
        assert_error(await admin.patch(url, json={"requireTwoFactor": False}), 403, "two_factor_required")
        # Their own brands are theirs to run as before.
        assert (
            await admin.patch(f"/api/v1/brands/{own_brand['id']}", json={"name": "Mine"})
        ).status_code == 200
        # The owner (with two-factor) goes on working.
        assert (
            await owner.patch(f"/api/v1/brands/{brand['id']}", json={"name": "By owner"})
        ).status_code == 200

        # Once the member turns it on, they act again.
        clock.advance(30)
        await enable_two_factor(admin, clock)
        renamed = await admin.patch(f"/api/v1/brands/{brand['id']}", json={"name": "Renamed"})
        assert renamed.status_code == 200, renamed.text
        # Turning the requirement off lets everyone act again.
        assert (await owner.patch(url, json={"requireTwoFactor": False})).json()["requireTwoFactor"] is False
        assert (await owner.patch(url, json={"name": "Agency 2"})).json()["name"] == "Agency 2"


async def test_a_challenge_dies_when_the_account_is_disabled_meanwhile(
    app_factory: AppFactory, register: Any, db: Any, clock: Any
) -> None:
    app = await app_factory()
    async with client_for(app) as http:
        dan: Account = await register(on=http)
        secret, _ = await enable_two_factor(dan, clock)
        challenge = await challenge_for(http, dan.email)
        async with db.engine.begin() as conn:
            await conn.execute(text("UPDATE users SET disabled_at = now() WHERE id = :id"), {"id": dan.id})
        refused = await http.post(
            SECOND_STEP, json={"challenge": challenge, "code": code_now(secret, clock, ahead=1)}
        )
        assert_error(refused, 403, "account_disabled")
