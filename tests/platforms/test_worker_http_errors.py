"""What the worker's HTTP client (t21.kit.http on aiohttp) reports when a network misbehaves,
through the connectors' classification (t21.platforms.transport): only a request that never
left may be retried blindly (TRANSIENT); anything after it was sent is UNKNOWN_OUTCOME for a
publish, so the engine reconciles instead of posting twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from t21.emulators.base import free_port
from t21.enums import Platform
from t21.jobs.runner import build_http_client
from t21.platforms.base import ErrorKind, PlatformError
from t21.platforms.transport import Transport, server_side_error

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with build_http_client() as client:
        yield client


async def serve(handler: Handler) -> tuple[str, list[bytes]]:
    """A loopback server running `handler` per connection; the requests it read, in order."""
    seen: list[bytes] = []

    async def recording(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(_Recording(reader, seen), writer)
        finally:
            writer.close()

    server = await asyncio.start_server(recording, "127.0.0.1", 0)
    return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", seen


class _Recording(asyncio.StreamReader):
    def __init__(self, inner: asyncio.StreamReader, seen: list[bytes]) -> None:
        self.inner, self.seen = inner, seen

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        head = await self.inner.readuntil(separator)
        self.seen.append(head)
        return head


def transport(http: httpx.AsyncClient, timeout: float = 5.0) -> Transport:
    return Transport(
        http,
        Platform.x,
        lambda response, irreversible: server_side_error(response, Platform.x, irreversible, "error"),
        timeout=timeout,
    )


async def publish(http: httpx.AsyncClient, url: str, *, timeout: float = 5.0) -> PlatformError:
    with pytest.raises(PlatformError) as raised:
        await transport(http, timeout).json("POST", url + "/2/tweets", irreversible=True, json={"text": "hi"})
    return raised.value


async def test_a_refused_connection_never_left_so_it_is_transient(http: httpx.AsyncClient) -> None:
    error = await publish(http, f"http://127.0.0.1:{free_port()}")
    assert error.kind is ErrorKind.TRANSIENT
    assert isinstance(error.__cause__, httpx.ConnectError)


async def test_a_hang_up_after_the_request_is_unknown_outcome(http: httpx.AsyncClient) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")

    url, seen = await serve(hang_up)
    error = await publish(http, url)
    assert seen and seen[0].startswith(b"POST /2/tweets")
    assert error.kind is ErrorKind.UNKNOWN_OUTCOME


async def test_a_reset_in_the_middle_of_the_answer_is_unknown_outcome(http: httpx.AsyncClient) -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b'HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 80\r\n\r\n{"da'
        )
        await writer.drain()
        writer.transport.abort()  # RST, not FIN

    url, _ = await serve(reset)
    error = await publish(http, url)
    assert error.kind is ErrorKind.UNKNOWN_OUTCOME
    assert not isinstance(error.__cause__, httpx.ConnectError | httpx.ConnectTimeout)


async def test_no_answer_in_time_is_unknown_outcome(http: httpx.AsyncClient) -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(2)

    url, _ = await serve(slow)
    error = await publish(http, url, timeout=0.3)
    assert error.kind is ErrorKind.UNKNOWN_OUTCOME
    assert isinstance(error.__cause__, httpx.ReadTimeout)


async def test_a_malformed_answer_is_unknown_outcome(http: httpx.AsyncClient) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()

    url, _ = await serve(garbage)
    assert (await publish(http, url)).kind is ErrorKind.UNKNOWN_OUTCOME


async def test_urls_go_out_exactly_as_built(http: httpx.AsyncClient) -> None:
    """LinkedIn's Rest.li needs a URN's escapes kept inside a query value."""

    async def ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        await writer.drain()

    url, seen = await serve(ok)
    await transport(http).json("GET", url + "/rest/posts?ids=List(urn%3Ali%3Ashare%3A1)&q=a%2Fb")
    assert seen[0].startswith(b"GET /rest/posts?ids=List(urn%3Ali%3Ashare%3A1)&q=a%2Fb HTTP/1.1")


async def test_cookies_a_service_sets_are_never_sent_back(http: httpx.AsyncClient) -> None:
    """One client serves every account: nothing one call received may ride along on another."""

    async def sets_cookie(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            writer.write(b"HTTP/1.1 200 OK\r\nSet-Cookie: session=account-a; Path=/\r\n")
            writer.write(b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()

    url, seen = await serve(sets_cookie)
    await transport(http).json("GET", url + "/a")
    await transport(http).json("GET", url + "/b")
    assert len(seen) == 2 and all(b"cookie" not in head.lower().replace(b"set-cookie", b"") for head in seen)
    assert not http.cookies
