"""Deterministic hostile input the fuzz found or would take long to find: each a one-line
reproducer. A bug found here is marked xfail(strict=True) with its report, so the suite stays green
while it is open and turns red (XPASS) the day it is fixed: then drop the marker and the matching
KNOWN_BUGS entry in test_openapi_fuzz.py."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

NUL = "a\x00b"


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", "/api/v1/auth/register", {"email": "nul@example.com", "password": PASSWORD, "name": NUL}),
        ("POST", "/api/v1/brands", {"name": NUL}),
        ("POST", "/api/v1/organizations", {"name": NUL}),
        ("GET", "/api/v1/posts?q=a%00b", None),
    ],
    ids=["register", "brands", "organizations", "posts-search"],
)
async def test_nul_bytes_are_refused_not_500(client, register, method, url, body) -> None:
    person = await register()
    response = await client.request(method, url, json=body, headers=person.headers)
    assert response.status_code == 422, (response.status_code, response.text)
