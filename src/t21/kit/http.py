"""Every HTTP client T21 calls other services with, and the one reading of what a failed call
means (DESIGN section 2).

Clients (a timeout on every call):

  http_client()      httpx's API on aiohttp's pool, redirects not followed, cookies never sent
                     back: the worker (`jobs.runner.build_http_client`: connectors, token
                     refreshes, analytics), the AI provider (`ai.provider.provider_http`, and
                     `OpenRouterClient`'s default), the API process's shared client for OAuth
                     code exchange and revocation (`start`/`stop`/`shared_client`), Resend,
                     `t21 doctor`.
  guarded_client()   a URL a user gave us (media import): httpx on httpcore with the private-
                     address guard of `kit.netguard` on every connection, redirects followed.

The mapping, `classify(exc) -> Delivery`:

  NEVER_SENT         the request provably never left: DNS failure, connection refused, connect
                     or pool timeout, TLS handshake failure, a proxy that refused the tunnel.
                     Safe to send again.
  MAY_HAVE_ARRIVED   everything else: read or write timeout, a hang-up or reset after the
                     request may have been written, a malformed or cut-short answer, an error we
                     do not know. The other side may have acted on it: reconcile before repeating
                     anything that is not safe to repeat.

Why httpx on aiohttp's pool: httpcore checks every pooled connection on every request. Measured
with 100 calls in flight against a loopback server with 50 ms latency (the publish spike's
shape): httpx's pool, even split into eight small clients, cost ~1.4 ms of client CPU per
request; the same client on aiohttp's pool (httpx-aiohttp) ~0.46 ms.

Why not httpx-aiohttp's request call as it comes: it hands aiohttp the URL as text, which yarl
then "normalises" (`urn%3Ali%3Ashare` becomes `urn:li:share`, and LinkedIn's Rest.li needs the
escapes); here the URL goes out exactly as httpx built it. And its error mapping picks the
broadest match, so a server that hung up after the request, or a connection reset mid-answer,
arrives as `ConnectTimeout` (which `classify` would have to read as NEVER_SENT). Here aiohttp's
own exception picks the httpx error, erring toward "it may have arrived":

  connect failed (refused, DNS, TLS, proxy)        -> httpx.ConnectError     NEVER_SENT
  no connection in time (pool or connect timeout)  -> httpx.ConnectTimeout   NEVER_SENT
  no answer in time after sending                  -> httpx.ReadTimeout      MAY_HAVE_ARRIVED
  anything else (hang-up, reset, a malformed or
  cut-short answer)                                -> httpx.RemoteProtocolError / httpx.ReadError
                                                                             MAY_HAVE_ARRIVED

sniffio: httpcore (under guarded_client, and httpx's default transport) imports sniffio to ask
`current_async_library()` whenever it sets up a lock. Without sniffio installed each of those is
a failed import, a search of every sys.path entry. bench/http_client.py (50 POSTs in flight on
loopback, client CPU per request, busy 2-core machine): httpcore with sniffio installed 2.1 ms,
sniffio missing 3.8 ms, the old `sys.modules["sniffio"] = None` patch 2.7 ms (the import still
fails, only faster); this module's aiohttp pool 0.45 ms. So sniffio is a declared dependency and
imported here, so a broken install fails at start instead of quietly costing CPU per request.
"""

from __future__ import annotations

import http.cookiejar
from collections.abc import AsyncIterator, Mapping
from enum import StrEnum
from typing import Any

import aiohttp
import httpcore
import httpx
import sniffio  # noqa: F401  (see the module's note: must be importable, never quietly absent)
import yarl
from fastapi import FastAPI, Request
from httpx_aiohttp import AiohttpTransport

from t21.kit.netguard import GuardedBackend

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


# --- what a failure means -----------------------------------------------------------------------


class Delivery(StrEnum):
    NEVER_SENT = "never_sent"  # provably never left: safe to send again
    MAY_HAVE_ARRIVED = "may_have_arrived"  # the other side may have acted on it


# httpx errors raised only before a byte of the request is written (httpcore raises ConnectError
# and ConnectTimeout only while connecting or in the TLS handshake; the aiohttp transport below
# raises them only for aiohttp's connect failures; PoolTimeout is the wait for a connection).
_NEVER_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
)


def classify(exc: BaseException) -> Delivery:
    """Whether the request that failed with `exc` may have reached the other side. Anything not
    known to fail before sending (including exceptions that are not HTTP errors) may have."""
    if isinstance(exc, aiohttp.ClientError):
        return Delivery.NEVER_SENT if _aiohttp_error_type(exc) in _NEVER_SENT else Delivery.MAY_HAVE_ARRIVED
    if isinstance(exc, _NEVER_SENT):
        return Delivery.NEVER_SENT
    return Delivery.MAY_HAVE_ARRIVED


def _aiohttp_error_type(exc: aiohttp.ClientError) -> type[httpx.TransportError]:
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ServerFingerprintMismatch):
        return httpx.ConnectError
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout
    if isinstance(exc, aiohttp.ClientPayloadError):
        return httpx.ReadError
    return httpx.RemoteProtocolError


def honest_error(exc: aiohttp.ClientError, request: httpx.Request) -> httpx.TransportError:
    """The httpx error that says what happened to `request`, from aiohttp's exception."""
    return _aiohttp_error_type(exc)(f"{type(exc).__name__}: {exc}", request=request)


# --- httpx on aiohttp's pool --------------------------------------------------------------------


class HonestAiohttpTransport(AiohttpTransport):
    """httpx-aiohttp's transport (its TLS context and limits) with our own session (no cookie
    jar), the request sent with the URL as built and every failure mapped by `honest_error`."""

    def get_client(self) -> aiohttp.ClientSession:
        # No cookie jar: one client serves every account, and nothing we call relies on cookies
        # (a cookie one account's call received must never ride along on another's).
        connector = aiohttp.TCPConnector(
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
            limit=self.limits.max_connections or 0,
        )
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        timeout = request.extensions.get("timeout", {})
        data: bytes | httpx.AsyncByteStream | None
        try:
            data = request.content or None
        except httpx.RequestNotRead:
            data = request.stream  # type: ignore[assignment]
            request.headers.pop("transfer-encoding", None)  # aiohttp frames the body itself
        try:
            response = await self.client.request(
                request.method,
                yarl.URL(str(request.url), encoded=True),
                headers=request.headers.multi_items(),
                data=data,
                allow_redirects=False,
                auto_decompress=False,  # httpx decodes, from the headers passed on as they came
                compress=False,
                timeout=aiohttp.ClientTimeout(
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                    connect=timeout.get("pool"),
                ),
                server_hostname=request.extensions.get("sni_hostname"),
            ).__aenter__()
        except aiohttp.ClientError as exc:
            raise honest_error(exc, request) from exc
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode()
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_HonestStream(response, request),
            request=request,
            extensions=extensions,
        )


class _HonestStream(httpx.AsyncByteStream):
    CHUNK_SIZE = 16 * 1024

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self.response = response
        self.request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.response.content.iter_chunked(self.CHUNK_SIZE):
                yield chunk
        except aiohttp.ClientError as exc:
            mapped = honest_error(exc, self.request)
            # Whatever broke, it broke after the answer began: never a connect error.
            if isinstance(mapped, httpx.ConnectError | httpx.ConnectTimeout):
                mapped = httpx.ReadError(str(mapped), request=self.request)
            raise mapped from exc

    async def aclose(self) -> None:
        self.response.release()


class _NoCookies(http.cookiejar.CookieJar):
    """API calls authenticate with tokens and a cookie a service sets is never sent back (see
    get_client), so httpx's parsing of every answer's cookies (the stdlib's cookie machinery:
    ~3 % of a publishing worker's CPU) is skipped."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


def http_client(
    *,
    max_connections: int = 256,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    base_url: str = "",
    headers: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An httpx client on `HonestAiohttpTransport` (redirects not followed, cookies ignored,
    timeouts 30 s and 5 s to connect unless set here or per request).
    aiohttp keeps every connection alive for reuse up to `max_connections` (set it to about as
    many calls as run at once, or each call beyond it waits for a free one). `transport` stands
    in for the network in tests (an `httpx.MockTransport`), with every other setting kept."""
    return httpx.AsyncClient(
        transport=transport or HonestAiohttpTransport(limits=httpx.Limits(max_connections=max_connections)),
        timeout=timeout,
        base_url=base_url,
        headers=headers,
        follow_redirects=False,
        cookies=_NoCookies(),
    )


def guarded_client(
    *, allow_private: bool, timeout: float = 15.0, max_redirects: int = 3
) -> httpx.AsyncClient:
    """A client for a URL someone gave us: every connection, each redirect hop included, goes
    through `kit.netguard.GuardedBackend`, which resolves the name once, refuses private,
    loopback, link-local and reserved addresses (raising `UnsafeURL`), and connects to the
    address it checked."""
    transport = httpx.AsyncHTTPTransport()
    # httpx has no public knob for the network backend; the pool it wraps does.
    transport._pool = httpcore.AsyncConnectionPool(
        network_backend=GuardedBackend(allow_private=allow_private)
    )
    return httpx.AsyncClient(
        transport=transport,
        timeout=timeout,
        follow_redirects=True,
        max_redirects=max_redirects,
        headers={"User-Agent": "T21 media fetcher"},
    )


# --- the API process's shared client (registered in t21.features as a lifecycle) ---------------

# OAuth code exchanges, refreshes and revocations: rare, short calls.
API_CONNECTIONS = 64


async def start(app: FastAPI) -> None:
    # Made on first use (most API processes and tests never call out: no TLS context to load).
    app.state.http = None


async def stop(app: FastAPI) -> None:
    http: httpx.AsyncClient | None = getattr(app.state, "http", None)
    app.state.http = None
    if http is not None:
        await http.aclose()


def shared_client(request: Request) -> httpx.AsyncClient:
    """FastAPI dependency: the API process's client for calls to other services, one per app,
    made on first use and closed by `stop` with the app."""
    http: httpx.AsyncClient | None = getattr(request.app.state, "http", None)
    if http is None:
        http = request.app.state.http = http_client(max_connections=API_CONNECTIONS)
    return http
