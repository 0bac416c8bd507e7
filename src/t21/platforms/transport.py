"""One way to send a request to a network and turn every failure into a `PlatformError`.

The split that matters to the publishing engine (DESIGN section 5) is whether the network may have
acted on the request: a refused connection never reached it (TRANSIENT, safe to retry), while a
timeout or a 5xx after an *irreversible* call (creating a post) may have published it
(UNKNOWN_OUTCOME, reconcile first). Reads and reversible steps (uploads, Instagram containers) are
safe to repeat, so their timeouts and 5xx are TRANSIENT.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from t21.enums import Platform, network_name
from t21.kit.http import Delivery, classify
from t21.platforms.base import Connector, ConnectorConfig, ErrorKind, PlatformError

DEFAULT_TIMEOUT = 20.0

# Builds the error for a non-2xx answer: (response, irreversible) -> PlatformError.
Classifier = Callable[[httpx.Response, bool], PlatformError]


def body_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def seconds_until(reset_unix: str | None, *, default: float) -> float:
    """Seconds from now until a unix-seconds reset header, never negative."""
    if reset_unix is None:
        return default
    try:
        return max(0.0, float(reset_unix) - time.time())
    except ValueError:
        return default


def server_side_error(
    response: httpx.Response, platform: Platform, irreversible: bool, message: str
) -> PlatformError:
    kind = ErrorKind.UNKNOWN_OUTCOME if irreversible else ErrorKind.TRANSIENT
    return PlatformError(
        kind,
        f"{network_name(platform)} answered {response.status_code}: {message}",
        platform=platform,
        status_code=response.status_code,
        raw=body_of(response),
    )


class Transport:
    def __init__(
        self, http: httpx.AsyncClient, platform: Platform, classify: Classifier, *, timeout: float
    ) -> None:
        self.http = http
        self.platform = platform
        self.classify = classify
        self.timeout = timeout

    async def request(
        self, method: str, url: str, *, irreversible: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """Send and return a 2xx response, or raise the classified PlatformError."""
        name = self.platform.value
        try:
            response = await self.http.request(method, url, timeout=self.timeout, **kwargs)
        except httpx.RequestError as exc:
            if classify(exc) is Delivery.NEVER_SENT:
                raise PlatformError(
                    ErrorKind.TRANSIENT, f"could not reach {name}: {exc!r}", platform=self.platform
                ) from exc
            kind = ErrorKind.UNKNOWN_OUTCOME if irreversible else ErrorKind.TRANSIENT
            what = (
                "did not answer in time" if isinstance(exc, httpx.TimeoutException) else "broke off the call"
            )
            raise PlatformError(kind, f"{name} {what}: {exc!r}", platform=self.platform) from exc
        if response.is_success:
            return response
        raise self.classify(response, irreversible)

    async def json(self, method: str, url: str, *, irreversible: bool = False, **kwargs: Any) -> Any:
        response = await self.request(method, url, irreversible=irreversible, **kwargs)
        return self.parse(response, irreversible=irreversible)

    def parse(self, response: httpx.Response, *, irreversible: bool) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            # A 2xx we cannot read (a proxy page, a truncated body): after a publish we cannot
            # tell what happened.
            kind = ErrorKind.UNKNOWN_OUTCOME if irreversible else ErrorKind.TRANSIENT
            raise PlatformError(
                kind,
                f"{network_name(self.platform)} answered {response.status_code} with a body that is not JSON",
                platform=self.platform,
                status_code=response.status_code,
                raw=response.text[:500],
            ) from exc


class HttpConnector(Connector):
    """What every network connector sets up the same way: its API root, one transport for the
    API and one for the token endpoint (each with the network's own error classifier), and
    status polling for media that the network processes."""

    default_poll_interval = 1.0
    classify_api: Classifier
    classify_token: Classifier

    def __init__(
        self,
        config: ConnectorConfig,
        http: httpx.AsyncClient,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        poll_interval: float | None = None,
        max_polls: int = 60,
    ) -> None:
        super().__init__(config, http)
        self.api = config.api_base.rstrip("/")
        self.call_timeout = timeout
        self.transport = Transport(http, self.platform, type(self).classify_api, timeout=timeout)
        self.token_transport = Transport(http, self.platform, type(self).classify_token, timeout=timeout)
        self.poll_interval = self.default_poll_interval if poll_interval is None else poll_interval
        self.max_polls = max_polls

    async def poll_until_ready(self, ready: Callable[[], Awaitable[bool]]) -> bool:
        """Ask `ready` up to max_polls times, poll_interval apart, until it answers True (it raises
        to stop on a failure the network reports). False: the network is still processing."""
        for attempt in range(self.max_polls):
            if await ready():
                return True
            if attempt + 1 < self.max_polls:
                await asyncio.sleep(self.poll_interval)
        return False
