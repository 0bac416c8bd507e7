"""Shared machinery for the emulators: request recording, fault scripts, and a loopback server.

Every emulator is a FastAPI app built by `create_app()` in its module, holding its state in
memory on `app.state.emulator` (an `Emulator`). Tests and `t21 emulate` serve it over real HTTP
on 127.0.0.1 so T21's real clients run unchanged. Control routes live under `/_emulator/`:

    GET  /_emulator/requests        every recorded request (method, path, query, headers, body)
    POST /_emulator/faults          add a fault: {"match": "POST /2/tweets", "kind": ..., "count": N, ...}
                                    ("skip": K lets the first K matching requests through untouched,
                                    so "only the 2nd part of a thread" is {"skip": 1, "count": 1})
    POST /_emulator/reset           forget state, requests and faults
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FAULT_KINDS = (
    "latency",
    "status",
    "rate_limit",
    "timeout",
    "timeout_after_store",
    "status_after_store",
    "expired_token",
    "revoked_token",
)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json_body(self) -> Any:
        import json

        return json.loads(self.body) if self.body else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body.decode("utf-8", "replace"),
            "at": self.at,
        }


@dataclass
class Fault:
    """One scripted misbehaviour.

    kind:
      latency              sleep `seconds` before answering normally
      status               answer `status` with `body` (JSON) instead of the real answer
      rate_limit           answer 429 with the network's own reset headers (`reset_in` seconds)
      timeout              sleep `seconds` (longer than the client's timeout) and store nothing
      timeout_after_store  do the real work (the post exists!), then sleep `seconds`: the
                           client sees a timeout although the network stored the post
      status_after_store   do the real work (the post exists!), then throw its answer away and
                           answer `status` (default 500) with `body` or the network's own 5xx
                           body: the client sees a server error although the post is live
      expired_token        answer as the network does for an expired access token
      revoked_token        answer as the network does for a revoked access token
    `count` is how many matching requests the fault applies to (None = until reset), after the
    first `skip` matching requests have gone through untouched (each part of a thread is its own
    `POST /2/tweets`: skip=1, count=1 loses only the answer to part 2).
    """

    match: str  # "METHOD /path/regex" (regex anchored at both ends) or "*"
    kind: str
    count: int | None = 1
    seconds: float = 0.0
    status: int = 500
    body: Any = None
    reset_in: float = 60.0
    skip: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.match == "*":
            return True
        want_method, _, pattern = self.match.partition(" ")
        if want_method not in ("*", method):
            return False
        return re.fullmatch(pattern, path) is not None


@dataclass
class Emulator:
    """State common to every emulator. Subclasses (or `store`) hold the network's own data."""

    name: str
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    store: dict[str, Any] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.store.clear()

    def add_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def requests_to(self, method: str, path_pattern: str) -> list[RecordedRequest]:
        with self.lock:
            return [
                r
                for r in self.requests
                if r.method == method and re.fullmatch(path_pattern, r.path) is not None
            ]


FaultResponder = Callable[[Fault, Request], Response]


class RecordAndInject:
    """Records every request to an emulator and plays its scripted faults."""

    def __init__(self, app: ASGIApp, emulator: Emulator, fault_response: FaultResponder) -> None:
        self.app = app
        self.emulator = emulator
        self.fault_response = fault_response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        # Paths as the network would see them: a mounted emulator (the in-app sandbox) drops
        # its mount prefix, so fault scripts and recordings read the same mounted or not.
        path = request.url.path
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        if path.startswith("/_emulator"):
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        recorded = RecordedRequest(
            method=request.method,
            path=path,
            query=request.url.query,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            at=time.time(),
        )
        emulator = self.emulator
        with emulator.lock:
            emulator.requests.append(recorded)
        fault = emulator.take_fault(request.method, path)
        if fault is None:
            await self.app(scope, replay, send)
            return
        if fault.kind == "latency":
            await asyncio.sleep(fault.seconds)
            await self.app(scope, replay, send)
            return
        if fault.kind == "timeout":
            await asyncio.sleep(fault.seconds or 30)
            await JSONResponse({"detail": "emulated timeout"}, status_code=504)(scope, replay, send)
            return
        if fault.kind == "timeout_after_store":
            # The network acts on the request, then the answer is late.
            held: list[Message] = []

            async def hold(message: Message) -> None:
                held.append(message)

            await self.app(scope, replay, hold)
            await asyncio.sleep(fault.seconds or 30)
            for message in held:
                await send(message)
            return
        if fault.kind == "status_after_store":
            # The network acts on the request, then its answer is replaced by a server error.
            async def discard(message: Message) -> None:
                return None

            await self.app(scope, replay, discard)
            replayed = False
            await self.fault_response(fault, Request(scope, replay))(scope, replay, send)
            return
        await self.fault_response(fault, Request(scope, replay))(scope, replay, send)


def install_emulator(
    app: FastAPI,
    emulator: Emulator,
    *,
    fault_response: FaultResponder,
    stores_before_timeout: Callable[[Request], bool] | None = None,
) -> None:
    """Attach recording, fault injection and the /_emulator control routes to an emulator app.

    `fault_response` turns status/rate_limit/expired_token/revoked_token faults into the
    network's own wire format.
    """
    app.state.emulator = emulator

    # A plain ASGI middleware (not @app.middleware / BaseHTTPMiddleware, whose task and stream
    # plumbing cost half of an emulator's CPU per request: the emulators share the machine with
    # T21 in the benches).
    app.add_middleware(RecordAndInject, emulator=emulator, fault_response=fault_response)

    control = APIRouter(prefix="/_emulator", include_in_schema=False)

    @control.get("/requests")
    async def _requests() -> dict[str, Any]:
        with emulator.lock:
            return {"data": [r.as_dict() for r in emulator.requests]}

    @control.post("/faults")
    async def _add_fault(spec: dict[str, Any]) -> dict[str, Any]:
        fault = Fault(**spec)
        if fault.kind not in FAULT_KINDS:
            return JSONResponse({"error": f"unknown fault kind {fault.kind}"}, status_code=400)  # type: ignore[return-value]
        emulator.add_fault(fault)
        return {"ok": True}

    @control.post("/reset")
    async def _reset() -> dict[str, Any]:
        emulator.reset()
        return {"ok": True}

    app.include_router(control)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RunningServer:
    """An ASGI app served by uvicorn on 127.0.0.1 in a background thread (its own event loop)."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"serve-{self.port}", daemon=True)

    def start(self) -> RunningServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> RunningServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
