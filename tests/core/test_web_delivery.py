"""How the built web app is delivered (issue 16, "Delivery"): the login page's first load is small,
hashed assets go out compressed with a one-year immutable cache, index.html is revalidated, and
source maps are not public.

Runs on the real build in web/dist. Without one the tests are skipped, unless
T21_REQUIRE_WEB_DIST=1 (scripts/test-all.sh builds the app first and sets it), where a missing
build fails them.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from t21.main import create_app
from t21.web_assets import IMMUTABLE, accepted_encodings
from tests.conftest import make_settings

DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
LOGIN_JS_BUDGET = 150 * 1024  # gzip'd bytes of JavaScript on the login page's first load

if not (DIST / "index.html").is_file():
    if os.environ.get("T21_REQUIRE_WEB_DIST") == "1":
        raise RuntimeError(f"{DIST} has no build: run `make web` (T21_REQUIRE_WEB_DIST=1 asks for one)")
    pytestmark = pytest.mark.skip(reason="web/dist is not built (`make web`); scripts/test-all.sh builds it")


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # Static files need no database: the app is not started (no lifespan), only routed.
    settings = make_settings("postgresql://unused@127.0.0.1:1/none", tmp_path, web_dist_dir=DIST)
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


def first_load_scripts(index_html: str) -> list[str]:
    """The JavaScript index.html makes the browser fetch at once: its entry and modulepreloads."""
    entry = re.findall(r'<script[^>]+type="module"[^>]+src="([^"]+)"', index_html)
    preloads = re.findall(r'<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"', index_html)
    return [*entry, *preloads]


async def test_login_first_load_sends_at_most_150_kb_of_gzipped_js(web: httpx.AsyncClient) -> None:
    page = await web.get("/login")
    assert page.status_code == 200
    scripts = first_load_scripts(page.text)
    assert scripts, "index.html loads no module script"
    total = 0
    for src in scripts:
        response = await web.get(src, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200, src
        assert response.headers["content-encoding"] == "gzip", src
        # httpx decodes the body; the bytes on the wire are the stored .gz file.
        total += int(response.headers["content-length"])
    assert total <= LOGIN_JS_BUDGET, f"login page first load: {total / 1024:.1f} KB of gzip'd JS in {scripts}"


async def test_hashed_assets_are_compressed_and_immutable(web: httpx.AsyncClient) -> None:
    page = await web.get("/")
    entry = first_load_scripts(page.text)[0]
    assert re.search(r"/assets/[\w.-]+-[\w-]{8,}\.js$", entry), entry  # a hashed name

    brotli = await web.get(entry, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert brotli.headers["content-encoding"] == "br"
    assert brotli.headers["cache-control"] == IMMUTABLE
    assert brotli.headers["vary"] == "Accept-Encoding"
    assert brotli.headers["content-type"].startswith("text/javascript")

    plain = await web.get(entry, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.headers["cache-control"] == IMMUTABLE
    assert int(plain.headers["content-length"]) > int(brotli.headers["content-length"]) * 2

    css = re.search(r'href="(/assets/[^"]+\.css)"', page.text)
    assert css
    styles = await web.get(css.group(1), headers={"Accept-Encoding": "gzip"})
    assert styles.headers["content-encoding"] == "gzip"
    assert styles.headers["cache-control"] == IMMUTABLE


async def test_index_html_is_revalidated_on_every_route(web: httpx.AsyncClient) -> None:
    for path in ("/", "/login", "/calendar", "/posts/123"):
        response = await web.get(path)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-cache", path
        assert '<div id="root">' in response.text


async def test_source_maps_are_not_public(web: httpx.AsyncClient) -> None:
    page = await web.get("/")
    entry = first_load_scripts(page.text)[0]
    script = (await web.get(entry)).text
    assert "sourceMappingURL" not in script
    assert (await web.get(f"{entry}.map")).status_code == 404
    assert (await web.get(f"{entry}.gz")).status_code == 404
    for stray in DIST.rglob("*.map"):
        url = "/" + stray.relative_to(DIST).as_posix()
        assert (await web.get(url)).status_code == 404, url


def test_accept_encoding_parsing() -> None:
    assert accepted_encodings("gzip, deflate, br;q=1.0") == {"gzip", "deflate", "br"}
    assert accepted_encodings("br;q=0, gzip") == {"gzip"}
    assert accepted_encodings("") == set()
