"""The HTTP client T21 calls a networked provider with: kept-alive connections in several small
pools, taken in turn."""

from __future__ import annotations

import asyncio

import httpx

from t21.ai.provider import PROVIDER_POOL_SHARDS, ShardedTransport, provider_http
from t21.emulators.base import RunningServer


async def test_requests_take_the_pools_in_turn_and_reuse_their_connections(
    openrouter_server: RunningServer,
) -> None:
    transport = ShardedTransport(shards=4, connections=8)

    def connections() -> list[set[int]]:
        return [{id(c) for c in shard._pool.connections} for shard in transport.shards]

    async with httpx.AsyncClient(transport=transport) as http:
        seen = []
        for _ in range(3):
            answers = await asyncio.gather(
                *(http.get(f"{openrouter_server.url}/api/v1/models") for _ in range(8))
            )
            assert {a.status_code for a in answers} == {200}
            seen.append(connections())
        # 8 at a time over 4 pools of 2: every pool was used, none holds more than its 2, and
        # later rounds opened no new connection.
        assert all(1 <= len(pool) <= 2 for pool in seen[0])
        assert all(later <= first for first, later in zip(seen[0], seen[2], strict=True))
    assert all(shard._pool.connections == [] for shard in transport.shards)


def test_the_provider_client_is_sharded() -> None:
    http = provider_http()
    assert isinstance(http._transport, ShardedTransport)
    assert len(http._transport.shards) == PROVIDER_POOL_SHARDS
