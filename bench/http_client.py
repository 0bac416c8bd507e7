"""Client CPU per outbound request, and the sniffio question (issue 15).

httpcore (httpx's own transport; in T21 now only under `kit.http.guarded_client`) calls
`sniffio.current_async_library()` whenever it sets up one of its locks, importing sniffio each
time. With sniffio absent each of those is a failed import: a search of every sys.path entry.
`platforms/transport.py` used to patch `sys.modules["sniffio"] = None` against that; sniffio is a
declared dependency now and the patch is gone. This bench shows what each choice costs:

  httpcore, sniffio installed      what a T21 install has (sniffio in pyproject.toml)
  httpcore, sniffio missing        a failed path search on every ask (simulated: a meta-path
                                   finder in front searches sys.path for a name that is not
                                   there, as the real failed import does, then raises)
  httpcore, sys.modules patch      the old workaround (the failure made immediate)
  aiohttp pool (kit.http)          what the worker, the AI provider and the API's OAuth calls use

A loopback HTTP/1.1 server in its own process answers at once; the client sends --requests
POSTs per mode, --concurrency at a time, in alternating rounds, and reports its own CPU per
request (time.process_time over the load window: the server's CPU is not counted).

    .venv/bin/python bench/http_client.py [--requests 3000] [--concurrency 50] [--rounds 3]

Target: "httpcore, sniffio installed" within 10 % of "httpcore, sys.modules patch" (the cost
the patch guarded against does not come back), and well below "sniffio missing". Ends with
PASS/FAIL (exit status 1 on FAIL).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.machinery
import multiprocessing
import socket
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import httpx

ANSWER = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


def _serve(port: int, ready: Any) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if length:
                    await reader.readexactly(length)
                writer.write(ANSWER)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class _MissingSniffio:
    """A meta-path finder that makes `import sniffio` fail the way a missing package does: a
    full sys.path search that finds nothing."""

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> None:
        if name == "sniffio":
            importlib.machinery.PathFinder.find_spec("sniffio_not_installed")
            raise ModuleNotFoundError("No module named 'sniffio'", name="sniffio")
        return None


def _set_sniffio(mode: str) -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _MissingSniffio)]
    sys.modules.pop("sniffio", None)
    if mode == "missing":
        sys.meta_path.insert(0, _MissingSniffio())
    elif mode == "patched":
        sys.modules["sniffio"] = None  # type: ignore[assignment]
    else:
        import sniffio  # noqa: F401


async def _load(make: Callable[[], httpx.AsyncClient], url: str, requests: int, concurrency: int) -> float:
    """Client CPU seconds per request over `requests` POSTs, `concurrency` in flight."""
    async with make() as http:
        for _ in range(concurrency):  # warm the pool
            await http.post(url, json={"text": "hi"})
        left = requests

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                response = await http.post(url, json={"text": "hi"})
                response.raise_for_status()

        cpu = time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return (time.process_time() - cpu) / requests


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    sys.path.insert(0, "src")
    from t21.kit.http import http_client

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(port, ready), daemon=True)
    server.start()
    ready.wait(10)
    url = f"http://127.0.0.1:{port}/2/tweets"
    limits = httpx.Limits(max_connections=args.concurrency)
    modes: dict[str, tuple[str, Callable[[], httpx.AsyncClient]]] = {
        "httpcore, sniffio installed": ("installed", lambda: httpx.AsyncClient(limits=limits)),
        "httpcore, sniffio missing": ("missing", lambda: httpx.AsyncClient(limits=limits)),
        "httpcore, sys.modules patch": ("patched", lambda: httpx.AsyncClient(limits=limits)),
        "aiohttp pool (kit.http)": ("installed", lambda: http_client(max_connections=args.concurrency)),
    }
    results: dict[str, list[float]] = {name: [] for name in modes}
    try:
        for _ in range(args.rounds):
            for name, (sniffio_mode, make) in modes.items():
                _set_sniffio(sniffio_mode)
                results[name].append(asyncio.run(_load(make, url, args.requests, args.concurrency)))
        _set_sniffio("installed")
    finally:
        server.terminate()
        server.join()

    print(f"{args.requests} POSTs x {args.rounds} rounds, {args.concurrency} in flight, loopback")
    print(f"{'client':32} {'CPU ms/request (best, median)':>30}")
    best = {}
    for name, values in results.items():
        best[name] = min(values)
        print(f"{name:32} {min(values) * 1000:14.3f} {statistics.median(values) * 1000:14.3f}")
    installed, patched = best["httpcore, sniffio installed"], best["httpcore, sys.modules patch"]
    missing = best["httpcore, sniffio missing"]
    ok = installed <= patched * 1.10 and installed < missing
    print(
        f"installed / patch = {installed / patched:.2f} (target <= 1.10); "
        f"missing costs +{(missing - installed) * 1000:.3f} ms per request"
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
