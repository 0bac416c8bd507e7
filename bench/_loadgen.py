"""Load driver, run as its own process so it never shares the served app's event loop:

    python bench/_loadgen.py --url http://127.0.0.1:8000/healthz --requests 5000 --concurrency 32 \
        [--header "Authorization: Bearer ..."] [--client raw|httpx] [--time-limit 120]

`concurrency` keep-alive connections share a fixed count of GETs; the run stops at that count or at
the time limit, whichever comes first. Prints one JSON object: every latency (ms), the status
counts, transport errors, wall time, this process's own CPU time (to show it is not the
bottleneck), and over exactly the same window the CPU of the --watch processes and the machine.
`raw` is a minimal HTTP/1.1 client on asyncio streams (uvloop when installed): far
cheaper per request than httpx, which is offered for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from urllib.parse import urlsplit

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_cpu() -> float:
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / TICK


def cpu_now() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Budget:
    """Hands out at most `total` request slots, and none after the deadline."""

    def __init__(self, total: int, deadline: float) -> None:
        self.left = total
        self.deadline = deadline

    def take(self) -> bool:
        if self.left <= 0 or time.monotonic() > self.deadline:
            return False
        self.left -= 1
        return True


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Reads one response; (status, server wants the connection closed)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        end = lower.find(b"\r\n", at + 2)
        await reader.readexactly(int(lower[at + 17 : end]))
    elif b"\r\ntransfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, b"\r\nconnection: close" in lower


async def raw_slot(args: argparse.Namespace, budget: Budget, out: dict) -> None:
    parts = urlsplit(args.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = "".join(f"{h}\r\n" for h in args.header)
    request = f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n{headers}\r\n".encode()
    writer = None
    try:
        while budget.take():
            if writer is None:
                reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            started = time.perf_counter()
            try:
                writer.write(request)
                status, close = await read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                out["errors"] += 1
                writer.close()
                writer = None
                continue
            out["latencies"].append((time.perf_counter() - started) * 1000)
            out["statuses"][status] = out["statuses"].get(status, 0) + 1
            if close:
                writer.close()
                writer = None
    finally:
        if writer is not None:
            writer.close()


async def httpx_slot(args: argparse.Namespace, budget: Budget, out: dict, http) -> None:  # type: ignore[no-untyped-def]
    import httpx

    headers = dict(h.split(": ", 1) for h in args.header)
    while budget.take():
        started = time.perf_counter()
        try:
            response = await http.get(args.url, headers=headers)
        except httpx.TransportError:
            out["errors"] += 1
            continue
        out["latencies"].append((time.perf_counter() - started) * 1000)
        out["statuses"][response.status_code] = out["statuses"].get(response.status_code, 0) + 1


async def run(args: argparse.Namespace) -> dict:
    out: dict = {"latencies": [], "statuses": {}, "errors": 0}
    budget = Budget(args.requests, time.monotonic() + args.time_limit)
    watched = {name: int(pid) for name, _, pid in (w.partition("=") for w in args.watch)}
    before = {name: proc_cpu(pid) for name, pid in watched.items()}
    machine0 = machine_cpu()
    cpu0, wall0 = cpu_now(), time.perf_counter()
    if args.client == "httpx":
        import httpx

        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=30) as http:
            await asyncio.gather(*(httpx_slot(args, budget, out, http) for _ in range(args.concurrency)))
    else:
        await asyncio.gather(*(raw_slot(args, budget, out) for _ in range(args.concurrency)))
    wall, cpu = time.perf_counter() - wall0, cpu_now() - cpu0
    machine = machine_cpu() - machine0
    used = {name: max(0.0, proc_cpu(pid) - before[name]) for name, pid in watched.items()}
    return {
        "latencies_ms": out["latencies"],
        "statuses": out["statuses"],
        "errors": out["errors"],
        "wall_s": wall,
        "cpu_s": cpu,
        "machine_cpu_s": machine,
        "watched_cpu_s": used,
        "timed_out": budget.left > 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw")
    parser.add_argument("--time-limit", type=float, default=120)
    parser.add_argument("--watch", action="append", default=[], help="name=pid: CPU used during the load")
    args = parser.parse_args()
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    result = runner(run(args))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
