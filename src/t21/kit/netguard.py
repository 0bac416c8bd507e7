"""SSRF guard for URLs T21 fetches on a user's behalf.

The check happens where the connection is made (an httpcore network backend), for every
connection including each redirect hop, on the addresses actually connected to — so neither a
redirect to 169.254.169.254 nor DNS that answers differently the second time gets through.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpcore
import httpx

from t21.errors import ValidationFailed

ALLOWED_SCHEMES = ("http", "https")


class UnsafeURL(ValidationFailed):  # a ValidationFailed answered to the client
    code = "unsafe_url"
    message = "This URL cannot be fetched"


def address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why T21 will not connect to `ip`, or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address are judged by that address.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return address_problem(embedded)
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if ip.is_private:
        return "a private network address"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return "a reserved address"
    if not ip.is_global:
        # Shared address space (100.64.0.0/10, where some clouds serve metadata), benchmarking
        # and documentation ranges: nothing T21 should fetch on a user's behalf.
        return "a non-public address"
    return None


def check_url_shape(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ALLOWED_SCHEMES:
        raise UnsafeURL("Only http and https URLs can be fetched", details={"url": url})
    if not parts.hostname:
        raise UnsafeURL("The URL has no host", details={"url": url})
    if parts.username or parts.password:
        raise UnsafeURL("URLs with credentials are not fetched", details={"url": url})
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname, port


async def resolve(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


async def ensure_public_url(url: str, *, allow_private: bool = False) -> list[str]:
    """Refuse URLs that are not http(s) or whose host resolves to a non-public address.
    Returns the resolved addresses."""
    _, host, port = check_url_shape(url)
    try:
        addresses = await resolve(host, port)
    except OSError:
        raise UnsafeURL(f"The host {host} cannot be resolved", details={"url": url}) from None
    if not allow_private:
        for address in addresses:
            problem = address_problem(ipaddress.ip_address(address))
            if problem:
                raise UnsafeURL(f"The URL points at {problem}; T21 does not fetch it", details={"url": url})
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks, and connects to the checked address (not the name a second time)."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    # httpcore's interface dictates the `timeout` parameters below.
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        if not self.allow_private:
            for address in addresses:
                problem = address_problem(ipaddress.ip_address(address))
                if problem:
                    raise UnsafeURL(
                        f"The URL points at {problem}; T21 does not fetch it", details={"host": host}
                    )
        return await self._inner.connect_tcp(
            addresses[0], port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Any = None,
    ) -> Any:
        raise UnsafeURL("Unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_client(
    *, allow_private: bool, timeout: float = 15.0, max_redirects: int = 3
) -> httpx.AsyncClient:
    """Moved to `t21.kit.http.guarded_client` (every client is built there); kept for callers."""
    from t21.kit.http import guarded_client as build

    return build(allow_private=allow_private, timeout=timeout, max_redirects=max_redirects)
