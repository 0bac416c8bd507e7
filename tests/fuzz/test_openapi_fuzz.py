"""Fuzz every operation of the live OpenAPI with schemathesis, in-process over ASGI, as a real
tenant: no answer is a 5xx, and every answer (errors included, declared through ErrorResponse)
matches the schema the operation declares for its status.

Each operation draws its cases from three sources: schema-valid requests (positive), requests that
break the schema (negative: must be a 4xx, never a 5xx), and schema-valid requests whose path ids
and body references (brandId, mediaIds, ...) are the tenant's real ones, so handlers run past
their 404s into the real work. A fresh tenant per operation keeps a destructive case (DELETE
/brands/{id}) from starving the operations after it.

T21_FUZZ_EXAMPLES sets the examples per operation (default 30: about 1,900 cases, ~2.5 min on
2 busy cores); T21_FUZZ_SEED pins hypothesis' seed to replay a run; T21_FUZZ_STRICT=1 adds the audit checks.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from t21.main import create_app
from tests.conftest import make_settings
from tests.fuzz.conftest import Tenant, seed_tenant

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(300)]

EXAMPLES = int(os.environ.get("T21_FUZZ_EXAMPLES", "30"))
SEED = os.environ.get("T21_FUZZ_SEED")
CHECKS = [not_a_server_error, response_schema_conformance]
# T21_FUZZ_STRICT=1: an audit run that also holds the spec to its word: only declared statuses,
# schema-breaking input refused with a 4xx, schema-valid input not refused as invalid.
STRICT = os.environ.get("T21_FUZZ_STRICT") == "1"
STRICT_CHECKS = [status_code_conformance, negative_data_rejection, positive_data_acceptance]

# Operations not fuzzed, each with its reason. Anything else in the spec is fuzzed.
EXCLUDED: dict[str, str] = {}
# Operations whose 5xx is a designed answer, each with its reason (the other checks still apply).
SERVER_ERROR_ALLOWED: dict[str, str] = {
    "GET /readyz": "503 is its designed answer while a dependency is down; this app has no worker running",
}

# Body fields that name the tenant's own objects: swapped for real ids in the "real ids" cases.
BODY_REFERENCES = {
    "brandId": "brand_id",
    "organizationId": "org_id",
    "aiGenerationId": "generation_id",
    "socialAccountIds": ["account_id"],
    "mediaIds": ["media_id"],
}


def _spec() -> dict[str, Any]:
    tmp = Path(tempfile.gettempdir())
    return create_app(make_settings("postgresql://unused@127.0.0.1/unused", tmp)).openapi()


def _operations() -> list[tuple[str, str]]:
    methods = ("get", "put", "post", "delete", "patch")
    return [(m.upper(), p) for p, ops in sorted(_spec()["paths"].items()) for m in ops if m in methods]


OPERATIONS = _operations()


@pytest.fixture(scope="session")
def fuzz_schema(fuzz_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzz_app)


@pytest.fixture(scope="session")
def asgi_client(fuzz_app: Any) -> Any:
    from schemathesis.python import asgi

    with asgi.get_client(fuzz_app) as client:
        yield client


@pytest.fixture
def tenant(asgi_client: Any, fuzz_database: str) -> Tenant:
    return seed_tenant(asgi_client, fuzz_database)


def _with_real_references(tenant: Tenant) -> Any:
    def swap(case: Any) -> Any:
        body = case.body
        if isinstance(body, dict):
            for name, ref in BODY_REFERENCES.items():
                if name in body:
                    body[name] = [tenant.ids[r] for r in ref] if isinstance(ref, list) else tenant.ids[ref]
        return case

    return swap


def _strategy(operation: Any, tenant: Tenant) -> Any:
    real_path = {p.name: tenant.ids[p.name] for p in operation.path_parameters if p.name in tenant.ids}
    sources = [
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=real_path or None).map(
            _with_real_references(tenant)
        ),
    ]
    return st.one_of(sources)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation(method: str, path: str, fuzz_schema: Any, asgi_client: Any, tenant: Tenant) -> None:
    label = f"{method} {path}"
    if label in EXCLUDED:
        pytest.skip(EXCLUDED[label])
    operation = fuzz_schema[path][method]
    statuses: dict[int, int] = {}
    checks = [c for c in CHECKS if not (c is not_a_server_error and label in SERVER_ERROR_ALLOWED)]
    if STRICT:
        checks += STRICT_CHECKS

    @given(case=_strategy(operation, tenant))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=SEED is None and os.environ.get("CI") is not None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink],
    )
    def fuzz(case: Any) -> None:
        response = case.call(session=asgi_client, headers=tenant.headers)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        case.validate_response(response, checks=checks)

    if SEED is not None:
        fuzz = hypothesis.seed(int(SEED))(fuzz)
    fuzz()
    print(f"{label}: {sum(statuses.values())} cases, statuses {dict(sorted(statuses.items()))}")


def test_every_operation_is_fuzzed_or_excluded_with_a_reason() -> None:
    """The spec the fuzz walks is the live one: a new operation is fuzzed by default, and an
    exclusion that names an operation that no longer exists fails (stale reasons rot)."""
    labels = {f"{m} {p}" for m, p in OPERATIONS}
    assert len(labels) >= 60
    for reasons in (EXCLUDED, SERVER_ERROR_ALLOWED):
        assert set(reasons) <= labels, set(reasons) - labels
        assert all(reason.strip() for reason in reasons.values())
