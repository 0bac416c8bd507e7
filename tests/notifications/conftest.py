"""Helpers for the notifications tests: the Resend emulator, an email-only worker, an SMTP sink,
and waiting on a condition without fixed sleeps."""

from __future__ import annotations

import asyncio
import base64
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from t21.config import Settings
from t21.emulators import resend as resend_emulator
from t21.emulators.base import RunningServer, free_port
from t21.jobs.runner import Worker
from tests.conftest import PASSWORD

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T]], *, timeout: float = 10.0, interval: float = 0.05
) -> T:
    """Poll `check` until it returns something truthy (or raise with the last value)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        await asyncio.sleep(interval)


@pytest.fixture(scope="session")
def resend_server() -> Iterator[RunningServer]:
    with RunningServer(resend_emulator.create_app()) as server:
        yield server


@pytest.fixture
async def resend(resend_server: RunningServer) -> RunningServer:
    async with httpx.AsyncClient(base_url=resend_server.url) as client:
        (await client.post("/_emulator/reset")).raise_for_status()
    return resend_server


@pytest.fixture
async def run_email_worker(database_url: str) -> AsyncIterator[Callable[[Settings], Awaitable[Worker]]]:
    workers: list[Worker] = []

    async def _start(settings: Settings) -> Worker:
        # The real worker, on the email queue only (other features' jobs are not these tests').
        worker = Worker(settings, database_url=database_url, concurrency=2, queues=["email"])
        await worker.start()
        workers.append(worker)
        return worker

    yield _start
    for worker in workers:
        await worker.stop()


class SmtpSink:
    """A minimal SMTP server: enough of RFC 5321 for smtplib (EHLO, AUTH PLAIN, MAIL, RCPT, DATA)."""

    def __init__(self, rcpt_reply: str = "250 OK") -> None:
        self.rcpt_reply = rcpt_reply
        self.messages: list[bytes] = []
        self.logins: list[tuple[str, str]] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def reply(text: str) -> None:
            writer.write(text.encode() + b"\r\n")

        reply("220 sink ESMTP")
        body: list[bytes] | None = None
        while line := await reader.readline():
            if body is not None:
                if line == b".\r\n":
                    self.messages.append(b"".join(body))
                    body = None
                    reply("250 queued")
                else:
                    body.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb, _, rest = line.decode().strip().partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                reply("250-sink\r\n250-AUTH PLAIN\r\n250 8BITMIME")
            elif verb == "AUTH":
                _, user, password = base64.b64decode(rest.split(" ")[1]).decode().split("\0")
                self.logins.append((user, password))
                reply("235 ok")
            elif verb == "RCPT":
                reply(self.rcpt_reply)
            elif verb == "DATA":
                body = []
                reply("354 go on")
            elif verb == "QUIT":
                reply("221 bye")
                await writer.drain()
                break
            else:
                reply("250 OK")
            await writer.drain()
        writer.close()

    async def __aenter__(self) -> SmtpSink:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway redis-server (skips when the binary is not installed)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    workdir: Path = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.02)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


async def register_over_http(base_url: str, email: str, name: str = "Person") -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": name}
        )
        assert response.status_code == 201, response.text
        return dict(response.json())
