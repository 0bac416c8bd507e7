"""t21.kit.http: the one reading of a failed call, `classify(exc)`, over real loopback servers and
both kinds of client it builds (httpx on aiohttp's pool, and the httpcore-based guarded client).

The rule under test: NEVER_SENT only when the request provably never left (nothing listening,
no such host, no connection in time, the TLS handshake failed); once a connection was accepted
and the request may have been written, MAY_HAVE_ARRIVED, whatever the server does next."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from t21.emulators.base import free_port
from t21.kit import http as kit_http
from t21.kit.http import Delivery, classify, guarded_client, http_client

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
CLIENTS = {
    "aiohttp-pool": lambda: http_client(max_connections=4),
    "httpcore-guarded": lambda: guarded_client(allow_private=True),
}
BODY = b'{"id":"1234567890","text":"hello"}'
ANSWER = b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
    len(BODY),
    BODY,
)


@pytest.fixture(params=sorted(CLIENTS))
async def http(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    async with CLIENTS[request.param]() as client:
        yield client


@dataclass
class Server:
    url: str
    received: list[bytes] = field(default_factory=list)
    server: asyncio.Server | None = None

    @property
    def got_bytes(self) -> bool:
        return any(self.received)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def serve(handler: Handler) -> Server:
    """A loopback server running `handler` for each connection; what it read goes to `received`
    when the handler calls `read`."""
    box = Server("")

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(_Recording(reader, box.received), writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if not writer.transport.is_closing():
                writer.close()

    box.server = await asyncio.start_server(run, "127.0.0.1", 0)
    box.url = f"http://127.0.0.1:{box.server.sockets[0].getsockname()[1]}"
    return box


class _Recording(asyncio.StreamReader):
    def __init__(self, inner: asyncio.StreamReader, seen: list[bytes]) -> None:
        self.inner, self.seen = inner, seen

    async def readuntil(self, separator: bytes = b"\n") -> bytes:  # type: ignore[override]
        data = await self.inner.readuntil(separator)
        self.seen.append(data)
        return data

    async def readexactly(self, n: int) -> bytes:
        data = await self.inner.readexactly(n)
        self.seen.append(data)
        return data

    async def read(self, n: int = -1) -> bytes:
        data = await self.inner.read(n)
        self.seen.append(data)
        return data


async def read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":")[1]))


async def failure(http: httpx.AsyncClient, url: str, **kwargs: object) -> BaseException:
    """POST a publish-like call and return what it raised (reading the whole answer)."""
    with pytest.raises(httpx.HTTPError) as raised:
        await http.post(url + "/2/tweets", json={"text": "hello"}, **kwargs)  # type: ignore[arg-type]
    return raised.value


# --- never sent -------------------------------------------------------------------------------


async def test_a_refused_connection_was_never_sent(http: httpx.AsyncClient) -> None:
    error = await failure(http, f"http://127.0.0.1:{free_port()}")
    assert isinstance(error, httpx.ConnectError)
    assert classify(error) is Delivery.NEVER_SENT


async def test_a_name_that_does_not_resolve_was_never_sent(http: httpx.AsyncClient) -> None:
    error = await failure(http, "http://no-such-host.invalid", timeout=5)
    assert classify(error) is Delivery.NEVER_SENT


async def test_no_connection_in_time_was_never_sent(http: httpx.AsyncClient) -> None:
    """A listener whose accept queue is full drops the SYN: the connect times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        await asyncio.sleep(0.05)
        error = await failure(http, f"http://127.0.0.1:{port}", timeout=httpx.Timeout(5, connect=0.3))
        assert isinstance(error, httpx.ConnectTimeout)
        assert classify(error) is Delivery.NEVER_SENT
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def test_waiting_for_a_free_connection_too_long_was_never_sent() -> None:
    release = asyncio.Event()

    async def held(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await release.wait()
        writer.write(ANSWER)
        await writer.drain()

    server = await serve(held)
    async with http_client(max_connections=1) as http:
        first = asyncio.create_task(http.post(server.url + "/first", json={}))
        await asyncio.sleep(0.2)
        error = await failure(http, server.url, timeout=httpx.Timeout(5, pool=0.3))
        release.set()
        assert (await first).status_code == 201
    assert classify(error) is Delivery.NEVER_SENT
    assert len([chunk for chunk in server.received if chunk.startswith(b"POST")]) == 1
    await server.close()


@pytest.mark.parametrize("server_does", ["hangs up", "answers garbage"])
async def test_a_failed_tls_handshake_was_never_sent(http: httpx.AsyncClient, server_does: str) -> None:
    """https:// to a server that reads the ClientHello and hangs up or answers something that
    is not TLS: the request itself was never written (it would travel inside TLS)."""

    async def not_tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        if server_does == "answers garbage":
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()

    server = await serve(not_tls)
    error = await failure(http, server.url.replace("http://", "https://"), timeout=5)
    assert classify(error) is Delivery.NEVER_SENT
    assert not any(b"/2/tweets" in chunk for chunk in server.received)
    await server.close()


# --- may have arrived -------------------------------------------------------------------------


async def test_accept_then_close_before_reading_may_have_arrived(http: httpx.AsyncClient) -> None:
    """The client cannot tell this from a server that read the request and then hung up."""

    async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        return None

    server = await serve(close_at_once)
    assert classify(await failure(http, server.url)) is Delivery.MAY_HAVE_ARRIVED
    await server.close()


async def test_close_after_reading_the_request_may_have_arrived(http: httpx.AsyncClient) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    server = await serve(hang_up)
    error = await failure(http, server.url)
    assert server.received and server.received[0].startswith(b"POST /2/tweets")
    assert not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
    assert classify(error) is Delivery.MAY_HAVE_ARRIVED
    await server.close()


async def test_a_slow_answer_may_have_arrived(http: httpx.AsyncClient) -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(2)

    server = await serve(slow)
    error = await failure(http, server.url, timeout=httpx.Timeout(5, read=0.3))
    assert isinstance(error, httpx.ReadTimeout)
    assert classify(error) is Delivery.MAY_HAVE_ARRIVED
    await server.close()


async def test_a_reset_in_the_middle_of_the_body_may_have_arrived(http: httpx.AsyncClient) -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(ANSWER[: ANSWER.index(b"\r\n\r\n") + 10])
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.transport.abort()  # RST, not FIN

    server = await serve(reset)
    error = await failure(http, server.url)
    assert classify(error) is Delivery.MAY_HAVE_ARRIVED
    await server.close()


async def test_a_malformed_answer_may_have_arrived(http: httpx.AsyncClient) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()

    server = await serve(garbage)
    assert classify(await failure(http, server.url)) is Delivery.MAY_HAVE_ARRIVED
    await server.close()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    read_bytes=st.integers(min_value=0, max_value=400),
    answered_bytes=st.integers(min_value=0, max_value=len(ANSWER) - 1),
    reset=st.booleans(),
)
async def test_whenever_the_server_drops_the_connection_it_may_have_arrived(
    http: httpx.AsyncClient, read_bytes: int, answered_bytes: int, reset: bool
) -> None:
    """Whichever moment an accepting server drops the connection (before reading, after part
    or all of the request, after part of the answer, with a FIN or a RST), the call is never
    reported as never sent."""

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if read_bytes:
            await reader.readexactly(read_bytes) if read_bytes < 150 else await read_request(reader)
        if answered_bytes:
            writer.write(ANSWER[:answered_bytes])
            await writer.drain()
            await asyncio.sleep(0.01)
        if reset:
            writer.transport.abort()
        else:
            writer.close()

    server = await serve(drop)
    try:
        error = await failure(http, server.url, timeout=5)
        assert classify(error) is Delivery.MAY_HAVE_ARRIVED, repr(error)
    finally:
        await server.close()


# --- the mapping itself -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectError("x"), Delivery.NEVER_SENT),
        (httpx.ConnectTimeout("x"), Delivery.NEVER_SENT),
        (httpx.PoolTimeout("x"), Delivery.NEVER_SENT),
        (httpx.ProxyError("x"), Delivery.NEVER_SENT),
        (httpx.UnsupportedProtocol("x"), Delivery.NEVER_SENT),
        (httpx.ReadTimeout("x"), Delivery.MAY_HAVE_ARRIVED),
        (httpx.WriteTimeout("x"), Delivery.MAY_HAVE_ARRIVED),
        # A request cut short while being written may still be acted on (a server may act on
        # the headers, or have read the whole body before the failure was seen).
        (httpx.WriteError("x"), Delivery.MAY_HAVE_ARRIVED),
        (httpx.ReadError("x"), Delivery.MAY_HAVE_ARRIVED),
        (httpx.RemoteProtocolError("x"), Delivery.MAY_HAVE_ARRIVED),
        (httpx.LocalProtocolError("x"), Delivery.MAY_HAVE_ARRIVED),
        (httpx.DecodingError("x"), Delivery.MAY_HAVE_ARRIVED),
        (httpx.TooManyRedirects("x"), Delivery.MAY_HAVE_ARRIVED),
        (RuntimeError("unknown"), Delivery.MAY_HAVE_ARRIVED),
        (aiohttp.ServerDisconnectedError(), Delivery.MAY_HAVE_ARRIVED),
        (aiohttp.ServerTimeoutError(), Delivery.MAY_HAVE_ARRIVED),
        (aiohttp.ConnectionTimeoutError(), Delivery.NEVER_SENT),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_classify(exc: BaseException, expected: Delivery) -> None:
    assert classify(exc) is expected


def test_classify_of_an_aiohttp_error_agrees_with_the_httpx_error_it_becomes() -> None:
    request = httpx.Request("POST", "http://example.test/")
    connector_error = aiohttp.ClientConnectorError(
        aiohttp.client_reqrep.ConnectionKey("h", 80, False, True, None, None, None), OSError(111, "refused")
    )
    for exc in (
        connector_error,
        aiohttp.ConnectionTimeoutError(),
        aiohttp.ServerTimeoutError(),
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientPayloadError("cut"),
        aiohttp.ClientOSError(104, "reset"),
    ):
        assert classify(exc) is classify(kit_http.honest_error(exc, request)), exc


# --- clients and their lifecycle --------------------------------------------------------------


async def test_the_api_process_holds_one_client_for_its_lifetime() -> None:
    from starlette.requests import Request

    app = FastAPI()
    await kit_http.start(app)
    request = Request({"type": "http", "app": app})
    shared = kit_http.shared_client(request)
    assert kit_http.shared_client(request) is shared
    assert isinstance(shared._transport, kit_http.HonestAiohttpTransport)
    assert not shared.follow_redirects
    await kit_http.stop(app)
    assert shared.is_closed and app.state.http is None


def test_oauth_calls_in_the_api_use_the_shared_client() -> None:
    from t21.social_accounts import router

    (depends,) = router.HttpDep.__metadata__  # type: ignore[attr-defined]
    assert depends.dependency is kit_http.shared_client


def test_sniffio_is_really_imported_not_patched_away() -> None:
    """httpcore asks sniffio on every lock; a missing sniffio costs a failed import each time
    (bench/http_client.py). It is a dependency: present, and never replaced by None."""
    import sniffio

    assert sys.modules["sniffio"] is sniffio


async def test_httpcore_sees_asyncio_through_sniffio() -> None:
    from httpcore._synchronization import current_async_library

    assert current_async_library() == "asyncio"


def test_tls_context_is_verifying_by_default() -> None:
    transport = http_client()._transport
    assert isinstance(transport, kit_http.HonestAiohttpTransport)
    assert transport.ssl_context.verify_mode is ssl.CERT_REQUIRED


def test_no_other_module_builds_an_outbound_client() -> None:
    """Every client to the outside is built by t21.kit.http. Allowed elsewhere: the emulators
    (stand-ins for the outside, not T21's own calls) and the AI provider's in-process ASGI client
    to the emulator mounted in the app (no network)."""
    from pathlib import Path

    import t21

    root = Path(t21.__file__).parent
    allowed = {"kit/http.py", "ai/provider.py"}
    builders = ("httpx.AsyncClient(", "httpx.Client(", "aiohttp.ClientSession(", "AsyncHTTPTransport(")
    found = [
        f"{path.relative_to(root)}: {needle}"
        for path in root.rglob("*.py")
        if str(path.relative_to(root)) not in allowed and path.relative_to(root).parts[0] != "emulators"
        for needle in builders
        if needle in path.read_text()
    ]
    assert found == []
