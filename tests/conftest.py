"""Test fixtures: a real PostgreSQL (T21_TEST_DATABASE_URL's server, or the embedded one), a fresh
database per test run migrated once, and every table emptied before each test."""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import httpx
import psycopg
import pytest

from t21.kit import clock as moving_clock

if TYPE_CHECKING:
    from t21.config import Settings
    from t21.db.database import Database

# T21's own modules are imported where they are used, not here: under pytest-xdist the controller
# process loads this file too, and importing the app (about 2 s of CPU) there only delays the start
# of the workers.

ROOT = Path(__file__).resolve().parents[1]
TEST_FERNET_KEY = "Ixv9ul0sVJ0HGd6bvQzO8Lp5ebTN4aqVvCbnMTu5G9w="
PASSWORD = "correct horse battery"


# Under pytest-xdist (scripts/test-all.sh runs `-n 4 --dist loadgroup`), each worker has its own
# database, emulators and ports. The tests of one group below run on one worker, one after the
# other (xdist hands the groups out first):
# - "shared-redis": the tests on the machine's Redis (T21_TEST_REDIS_URL): one of them empties it
#   (FLUSHDB) and they all publish on the same live-event channel.
# - "drills": the fault drills, each several processes of its own (API, workers, a Redis or a
#   PostgreSQL it restarts): one at a time, so that no more than two such tests share two cores.
# - "role-matrix": one world (database, server, members) built once per module and shared by its
#   tests; spread over workers, each would build its own.
# Groups are declared here, not with `xdist_group` marks: xdist 3.8 applies those by rewriting
# `item._nodeid`, which pytest 9.2 no longer reads, so the marks group nothing. Entries are a test
# file's name, optionally with `::test_name` (so that moving a file to another folder keeps it).
XDIST_GROUPS = {
    "shared-redis": (
        "test_http_hygiene.py::test_limits_are_shared_through_redis_and_survive_its_loss",
        "test_scale_out.py",
    ),
    "drills": ("test_drills_quick.py", "test_drills.py"),
    "role-matrix": ("test_role_matrix.py",),
}
# Under xdist, the other long tests start first (workers take tests in collection order), so that
# none of them is left to run alone at the end: those marked slow, and these files.
LONG_TESTS = ("test_due_order.py", "test_collection.py")


def _in_folderless(nodeid: str, entries: tuple[str, ...]) -> bool:
    """Whether `nodeid`, read without its folders, starts with one of `entries`."""
    path = nodeid.split("::", 1)[0]
    return (path.rsplit("/", 1)[-1] + nodeid[len(path) :]).startswith(entries)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        """One work unit per test, except the groups above: one unit each, handed out first."""

        def _split_scope(self, nodeid: str) -> str:
            for group, entries in XDIST_GROUPS.items():
                if _in_folderless(nodeid, entries):
                    return group
            return nodeid

    return GroupScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(
            key=lambda it: not (it.get_closest_marker("slow") or _in_folderless(it.nodeid, LONG_TESTS))
        )


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    url = os.environ.get("T21_TEST_DATABASE_URL")
    if url:
        yield url
        return
    from t21.db.embedded import start_embedded_postgres

    # pytest-xdist starts several workers at once on the same data directory (and two runs may
    # share it too): one at a time initialises or joins the server. Each worker holds a handle;
    # the last one to exit stops the server.
    data_dir = ROOT / ".t21-test"
    data_dir.mkdir(exist_ok=True)
    with (data_dir / "start.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            url = start_embedded_postgres(data_dir, stop_on_exit=True)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    yield url


@pytest.fixture(scope="session")
def database_url(pg_server_url: str) -> Iterator[str]:
    """A database of our own on the server, so parallel runs (and pytest-xdist) never collide."""
    from t21.db.database import migrate
    from t21.db.scratch import scratch_database

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with scratch_database(pg_server_url, f"t21_test_{worker}") as url:
        migrate(url)
        yield url


@pytest.fixture
def clock() -> ModuleType:
    """The process's business clock (t21.kit.clock), for moving time instead of sleeping:
    `clock.advance(3600)`, `clock.advance_to(moment)`, `clock.utcnow()`. The API, the in-process
    worker and its due-target queuer read it; PostgreSQL's `now()` does not move. Put back on the
    wall clock after each test (below)."""
    return moving_clock


@pytest.fixture(autouse=True)
def _wall_clock_after_each_test() -> Iterator[None]:
    """Whatever a test did to the clock, the next one starts on the wall clock."""
    yield
    moving_clock.reset()


def make_settings(database_url: str, tmp_dir: Path, **overrides: Any) -> Settings:
    from t21.config import Environment, Settings

    values: dict[str, Any] = {
        "env": Environment.test,
        "database_url": database_url,
        "data_dir": tmp_dir,
        "secret_key": "test-secret-key-" + "x" * 32,
        "encryption_keys": TEST_FERNET_KEY,
        "bcrypt_rounds": 4,
        "public_url": "http://testserver",
        "worker_in_process": False,
        "web_dist_dir": tmp_dir / "no-web",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def session_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("t21")


@pytest.fixture(scope="session")
def settings(database_url: str, session_tmp: Path) -> Settings:
    return make_settings(database_url, session_tmp)


@pytest.fixture(scope="session")
async def db(settings: Settings, database_url: str) -> AsyncIterator[Database]:
    from t21.db.database import Database

    database = Database.connect(settings, database_url)
    yield database
    await database.dispose()


# The statement that empties a test database, by URL (the tables do not change during a run).
_EMPTYING: dict[str, str] = {}


def _emptying_statement(conn: psycopg.Connection[Any]) -> str:
    """DELETE every table's rows and restart the sequences, as `TRUNCATE ... RESTART IDENTITY
    CASCADE` would, in about 20 ms instead of about a second: TRUNCATE gives each of the ~30
    tables new files, which is most of the suite's time on a busy disk. With
    session_replication_role = replica no trigger or foreign key fires, so the order does not
    matter. A server where that is not allowed (not a superuser) gets the TRUNCATE."""
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        ).fetchall()
    ]
    sequences = [
        row[0]
        for row in conn.execute(
            "SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences WHERE schemaname = 'public'"
        ).fetchall()
    ]
    try:
        conn.execute("SET session_replication_role = replica")
        conn.execute("RESET session_replication_role")
    except psycopg.errors.InsufficientPrivilege:
        return f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE" if tables else ""
    return " ".join(
        [
            "SET session_replication_role = replica;",
            *(f'DELETE FROM "{table}";' for table in tables),
            *(f"SELECT setval('{sequence}', 1, false);" for sequence in sequences),
            "RESET session_replication_role;",
        ]
    )


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> None:
    """Each test starts from empty tables. Tests that need no database pay nothing. Sync on
    purpose: an async fixture here would have to start the async `db` fixture from inside
    pytest-asyncio's runner."""
    if "database_url" not in request.fixturenames:
        return
    from t21.db.urls import libpq_url

    url = libpq_url(request.getfixturevalue("database_url"))
    with psycopg.connect(url, autocommit=True) as conn:
        if url not in _EMPTYING:
            _EMPTYING[url] = _emptying_statement(conn)
        if _EMPTYING[url]:
            conn.execute(_EMPTYING[url])  # built from the catalog, not from input


class AppFactory:
    """Builds app instances with setting overrides, each with its lifespan running."""

    def __init__(self, database_url: str, tmp: Path, db: Database) -> None:
        self.database_url = database_url
        self.tmp = tmp
        self.db = db
        self._stack: list[Any] = []

    async def __call__(self, **overrides: Any) -> Any:
        from t21.main import create_app

        settings = make_settings(self.database_url, self.tmp, **overrides)
        app = create_app(settings, database=self.db)
        ctx = app.router.lifespan_context(app)
        await ctx.__aenter__()
        self._stack.append(ctx)
        return app

    async def close(self) -> None:
        while self._stack:
            await self._stack.pop().__aexit__(None, None, None)


@pytest.fixture
async def app_factory(database_url: str, session_tmp: Path, db: Database) -> AsyncIterator[AppFactory]:
    factory = AppFactory(database_url, session_tmp, db)
    yield factory
    await factory.close()


@pytest.fixture
async def app(app_factory: AppFactory) -> Any:
    return await app_factory()


def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://testserver"
    )


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        yield c


class Account:
    """A registered person, with helpers to call the API as them."""

    def __init__(self, client: httpx.AsyncClient, body: dict[str, Any], email: str) -> None:
        self.client = client
        self.email = email
        self.user = body["user"]
        self.id: str = body["user"]["id"]
        self.access_token: str = body["tokens"]["accessToken"]
        self.refresh_token: str = body["tokens"]["refreshToken"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        return await self.client.get(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    async def post(self, url: str, **kw: Any) -> httpx.Response:
        return await self.client.post(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    async def patch(self, url: str, **kw: Any) -> httpx.Response:
        return await self.client.patch(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    async def put(self, url: str, **kw: Any) -> httpx.Response:
        return await self.client.put(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    async def delete(self, url: str, **kw: Any) -> httpx.Response:
        return await self.client.delete(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    async def create_brand(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "Acme", "toneOfVoice": "friendly", "targetAudience": "makers", **fields}
        response = await self.post("/api/v1/brands", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())


Register = Callable[..., Any]


@pytest.fixture
def register(client: httpx.AsyncClient) -> Register:
    async def _register(
        email: str | None = None, name: str = "Test User", on: httpx.AsyncClient | None = None
    ) -> Account:
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
        http = on or client
        response = await http.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": name}
        )
        assert response.status_code == 201, response.text
        return Account(http, response.json(), email)

    return _register


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code} {response.text}"
    body = response.json()
    assert set(body) == {"error", "code", "details"}, body
    assert isinstance(body["error"], str) and body["error"]
    if code is not None:
        assert body["code"] == code, body
    return dict(body)
