"""A lean HTTP/1.1 transport for httpx, for the calls to the model provider.

httpx's own transport (httpcore on anyio) costs ~0.8 ms of CPU per call on our machine: anyio
cancel scopes around every read and write, a lock and an event per request, and a pool that walks
all its connections (probing each socket) on every request and answer. At 250 generations a
second that was a third of T21's CPU per generation. This transport does the same job for the one
kind of traffic it carries — JSON POSTs and server-sent event streams to one provider, over http or
https — on asyncio streams, with httptools (uvicorn's C parser) reading the answers:

- keep-alive connections per origin, reused last-in first-out, never more idle than `max_idle`;
- a connection whose peer has closed it while idle is not reused;
- the answer's body is streamed as it arrives (chunked, Content-Length, or until the peer closes);
  the connection goes back to the pool once the body was read to its end;
- httpx's timeouts (connect, read, write) and error types (ConnectError, ConnectTimeout,
  ReadTimeout, WriteTimeout, ReadError, RemoteProtocolError), which `t21.integrations.openrouter`
  maps to its retries and to `ai_unavailable`.

Content decoding (gzip…), redirects and authentication stay httpx's, as with any transport.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httptools
import httpx

_Origin = tuple[str, str, int]
_READ_SIZE = 65536


class _Parsed:
    """httptools callbacks: the answer's head, then its body in pieces."""

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_done = False
        self.body: list[bytes] = []
        self.complete = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class _Connection:
    def __init__(self, origin: _Origin, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.origin = origin
        self.reader = reader
        self.writer = writer

    def usable(self) -> bool:
        return not (self.reader.at_eof() or self.writer.is_closing())

    def close(self) -> None:
        self.writer.close()


def _timeout(request: httpx.Request, kind: str) -> float | None:
    value = request.extensions.get("timeout", {}).get(kind)
    return None if value is None else float(value)


class LeanTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, max_idle: int = 256) -> None:
        self.ssl_context = ssl_context
        self.max_idle = max_idle
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._idle_count = 0
        self._closed = False

    # -- pool ----------------------------------------------------------------------------------

    async def _connect(self, origin: _Origin, request: httpx.Request) -> _Connection:
        scheme, host, port = origin
        tls: ssl.SSLContext | None = None
        if scheme == "https":
            tls = self.ssl_context or httpx.create_ssl_context()
        try:
            async with asyncio.timeout(_timeout(request, "connect")):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=tls, server_hostname=host if tls else None, limit=_READ_SIZE
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"Timed out connecting to {host}:{port}", request=request) from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"Cannot connect to {host}:{port}: {exc}", request=request) from exc
        return _Connection(origin, reader, writer)

    def _take(self, origin: _Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            if connection.usable():
                return connection
            connection.close()
        return None

    def _give_back(self, connection: _Connection) -> None:
        if self._closed or self._idle_count >= self.max_idle or not connection.usable():
            connection.close()
            return
        self._idle.setdefault(connection.origin, []).append(connection)
        self._idle_count += 1

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
        self._idle_count = 0

    # -- one exchange --------------------------------------------------------------------------

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"Unsupported URL scheme {scheme!r}", request=request)
        origin = (scheme, url.host, url.port or (443 if scheme == "https" else 80))
        body = await request.aread()
        head = [request.method.encode(), b" ", url.raw_path, b" HTTP/1.1\r\n"]
        for name, value in request.headers.raw:
            head += [name, b": ", value, b"\r\n"]
        if body and "content-length" not in request.headers:
            head += [b"Content-Length: ", str(len(body)).encode(), b"\r\n"]
        message = b"".join([*head, b"\r\n", body])

        connection = self._take(origin) or await self._connect(origin, request)
        try:
            return await self._exchange(connection, request, message)
        except BaseException:
            connection.close()
            raise

    async def _exchange(
        self, connection: _Connection, request: httpx.Request, message: bytes
    ) -> httpx.Response:
        try:
            connection.writer.write(message)
            async with asyncio.timeout(_timeout(request, "write")):
                await connection.writer.drain()
        except TimeoutError as exc:
            raise httpx.WriteTimeout("Timed out sending the request", request=request) from exc
        except OSError as exc:
            raise httpx.WriteError(f"Sending the request failed: {exc}", request=request) from exc

        parsed = _Parsed()
        parser = httptools.HttpResponseParser(parsed)
        read_timeout = _timeout(request, "read")
        while not parsed.headers_done:
            data = await self._read(connection, request, read_timeout)
            if not data:
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                )
            self._feed(parser, data, request)
        headers = parsed.headers
        names = {name.lower(): value.lower() for name, value in headers}
        # Without a length or chunks, the body runs until the peer closes the connection.
        delimited = (
            b"content-length" in names
            or b"transfer-encoding" in names
            or parser.get_status_code() in (204, 304)
        )
        keep_alive = (
            delimited and parser.get_http_version() == "1.1" and b"close" not in names.get(b"connection", b"")
        )
        stream = _Body(self, connection, parser, parsed, request, read_timeout, delimited, keep_alive)
        return httpx.Response(
            parser.get_status_code(),
            headers=headers,
            stream=stream,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": b""},
        )

    @staticmethod
    async def _read(connection: _Connection, request: httpx.Request, seconds: float | None) -> bytes:
        try:
            async with asyncio.timeout(seconds):
                return await connection.reader.read(_READ_SIZE)
        except TimeoutError as exc:
            raise httpx.ReadTimeout("Timed out reading the answer", request=request) from exc
        except OSError as exc:
            raise httpx.ReadError(f"Reading the answer failed: {exc}", request=request) from exc

    @staticmethod
    def _feed(parser: Any, data: bytes, request: httpx.Request) -> None:
        try:
            parser.feed_data(data)
        except httptools.HttpParserError as exc:
            raise httpx.RemoteProtocolError(f"Malformed answer: {exc}", request=request) from exc


class _Body(httpx.AsyncByteStream):
    def __init__(
        self,
        transport: LeanTransport,
        connection: _Connection,
        parser: Any,
        parsed: _Parsed,
        request: httpx.Request,
        read_timeout: float | None,
        delimited: bool,
        keep_alive: bool,
    ) -> None:
        self.transport = transport
        self.connection: _Connection | None = connection
        self.parser = parser
        self.parsed = parsed
        self.request = request
        self.read_timeout = read_timeout
        self.delimited = delimited
        self.keep_alive = keep_alive

    async def __aiter__(self) -> AsyncIterator[bytes]:
        parsed = self.parsed
        while True:
            if parsed.body:
                pieces, parsed.body = parsed.body, []
                for piece in pieces:
                    yield piece
            if parsed.complete:
                self._finish(reusable=self.keep_alive)
                return
            connection = self.connection
            if connection is None:
                return
            data = await LeanTransport._read(connection, self.request, self.read_timeout)
            if not data:
                if self.delimited:
                    self._finish(reusable=False)
                    raise httpx.RemoteProtocolError(
                        "peer closed connection without sending complete message body",
                        request=self.request,
                    )
                parsed.complete = True
                continue
            LeanTransport._feed(self.parser, data, self.request)

    def _finish(self, *, reusable: bool) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        if reusable:
            self.transport._give_back(connection)
        else:
            connection.close()

    async def aclose(self) -> None:
        # Closed before its end (an abandoned stream): the connection is in an unknown state.
        if self.connection is not None:
            self._finish(reusable=False)


__all__ = ["LeanTransport"]
