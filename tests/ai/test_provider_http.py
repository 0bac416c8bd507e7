"""The HTTP client T21 calls a networked model provider with: httpx on aiohttp's pool
(`t21.kit.http.HonestAiohttpTransport`). What the OpenRouter client relies on: kept-alive
connections, streams piece by piece, and only httpx errors, whatever the server does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from t21.ai.provider import provider_http
from t21.emulators.base import Emulator, RunningServer, free_port
from t21.kit.http import HonestAiohttpTransport

COMPLETION = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with provider_http() as client:
        client.timeout = httpx.Timeout(10)
        yield client


async def test_json_posts_reuse_kept_alive_connections(
    http: httpx.AsyncClient, openrouter_server: RunningServer, emulator: Emulator
) -> None:
    url = f"{openrouter_server.url}/api/v1/chat/completions"
    first = await http.post(url, json=COMPLETION)
    assert first.status_code == 200
    assert first.json()["choices"][0]["message"]["content"]
    second = await http.post(url, json=COMPLETION)
    assert second.json() == {**first.json(), "id": second.json()["id"], "created": second.json()["created"]}
    answers = await asyncio.gather(*(http.post(url, json=COMPLETION) for _ in range(5)))
    assert {a.status_code for a in answers} == {200}
    assert len(emulator.requests_to("POST", "/api/v1/chat/completions")) == 7


class KeptAlive:
    """A loopback server answering `body` to every request on a connection, counting connections."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.accepted = 0

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        while True:
            try:
                await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(self.body), self.body))
            await writer.drain()


async def test_one_connection_serves_calls_one_after_another(http: httpx.AsyncClient) -> None:
    server = KeptAlive(b"ok")
    url = await serve(server)
    for _ in range(5):
        assert (await http.get(url)).text == "ok"
    assert server.accepted == 1


async def test_an_event_stream_arrives_piece_by_piece(
    http: httpx.AsyncClient, openrouter_server: RunningServer
) -> None:
    url = f"{openrouter_server.url}/api/v1/chat/completions"
    async with http.stream("POST", url, json={**COMPLETION, "stream": True}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line async for line in response.aiter_lines()]
    assert lines[-2:] == ["data: [DONE]", ""]
    assert sum(line.startswith("data: {") for line in lines) > 3


async def test_timeouts_and_refused_connections_are_httpx_errors(
    http: httpx.AsyncClient, openrouter_server: RunningServer, emulator: Emulator
) -> None:
    emulator.store["delay_seconds"] = 1.0
    url = f"{openrouter_server.url}/api/v1/chat/completions"
    with pytest.raises(httpx.TimeoutException):
        await http.post(url, json=COMPLETION, timeout=httpx.Timeout(10, read=0.2))
    with pytest.raises(httpx.ConnectError):
        await http.post(f"http://127.0.0.1:{free_port()}/api/v1/chat/completions", json=COMPLETION)


async def serve(handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]) -> str:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def test_a_body_without_length_runs_until_the_peer_closes(http: httpx.AsyncClient) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello ")
        await writer.drain()
        writer.write(b"world")
        writer.close()

    response = await http.get(await serve(handler) + "/x")
    assert response.text == "hello world"


async def test_a_connection_the_server_closed_while_idle_is_not_reused(http: httpx.AsyncClient) -> None:
    accepted = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # as a keep-alive timeout would, without saying so

    url = await serve(handler)
    assert (await http.get(url)).text == "ok"
    await asyncio.sleep(0.05)
    assert (await http.get(url)).text == "ok"
    assert accepted == 2


async def test_a_malformed_answer_is_an_httpx_error(http: httpx.AsyncClient) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()

    with pytest.raises(httpx.TransportError):
        await http.get(await serve(handler))


@pytest.mark.parametrize(
    "head",
    [b"Content-Length: 100\r\n", b"Transfer-Encoding: chunked\r\n"],
    ids=["length", "chunked"],
)
async def test_a_body_cut_short_is_an_httpx_error(http: httpx.AsyncClient, head: bytes) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = b"a\r\ndata: {}\n\n\r\n" if b"chunked" in head else b"data: {}\n\n"
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n" + head + b"\r\n" + body)
        await writer.drain()
        writer.close()

    url = await serve(handler)
    received: list[str] = []

    async def read_all() -> None:
        async with http.stream("POST", url, json=COMPLETION) as response:
            async for line in response.aiter_lines():
                received.append(line)

    with pytest.raises(httpx.TransportError):
        await read_all()
    assert received[:1] == ["data: {}"]


def test_the_provider_client_uses_it() -> None:
    assert isinstance(provider_http()._transport, HonestAiohttpTransport)


async def test_https_with_the_servers_name_checked(tmp_path: Any) -> None:
    """OpenRouter is reached over TLS: the certificate is verified against the host's name."""
    import datetime
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_file, key_file)

    handler = KeptAlive(b"secure")
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=server_tls)
    port = server.sockets[0].getsockname()[1]
    trusting = ssl.create_default_context(cafile=str(cert_file))
    async with httpx.AsyncClient(transport=HonestAiohttpTransport(verify=trusting)) as client:
        assert (await client.get(f"https://localhost:{port}/a")).text == "secure"
        assert (await client.get(f"https://localhost:{port}/b")).text == "secure"
    assert handler.accepted == 1
    async with httpx.AsyncClient(
        transport=HonestAiohttpTransport(verify=ssl.create_default_context())
    ) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"https://localhost:{port}/")
    server.close()


async def test_a_server_that_hangs_up_after_the_request_is_not_a_connect_error(
    http: httpx.AsyncClient,
) -> None:
    """The request reached the server: reporting a connect failure would be a lie (the library
    underneath says ConnectTimeout; HonestAiohttpTransport corrects it)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    with pytest.raises(httpx.TransportError) as raised:
        await http.post(await serve(handler), json=COMPLETION)
    assert not isinstance(raised.value, httpx.ConnectError | httpx.ConnectTimeout)
