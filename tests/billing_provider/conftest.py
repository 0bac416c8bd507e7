"""Servers shared by the billing-provider tests: the Stripe and Resend emulators and a webhook
receiver, each on loopback over real HTTP. Servers live for the module; state is reset per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from t21.emulators.base import RunningServer
from t21.emulators.resend import create_app as create_resend_app
from t21.emulators.stripe import create_app as create_stripe_app
from t21.integrations.resend import ResendClient
from t21.integrations.stripe import StripeGateway

from ._support import RESEND_KEY, STRIPE_KEY, WEBHOOK_SECRET, Receiver, receiver_app


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[tuple[RunningServer, Receiver]]:
    receiver = Receiver()
    with RunningServer(receiver_app(receiver)) as server:
        receiver.url = f"{server.url}/webhooks/stripe"
        yield server, receiver


@pytest.fixture(scope="module")
def stripe_server() -> Iterator[RunningServer]:
    with RunningServer(create_stripe_app(webhook_secret=WEBHOOK_SECRET)) as server:
        yield server


@pytest.fixture
def receiver(receiver_server: tuple[RunningServer, Receiver]) -> Receiver:
    receiver_server[1].clear()
    return receiver_server[1]


@pytest.fixture
async def control(stripe_server: RunningServer, receiver: Receiver) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the Stripe emulator, reset and pointed at the receiver."""
    async with httpx.AsyncClient(base_url=stripe_server.url, timeout=10) as client:
        (await client.post("/_emulator/reset")).raise_for_status()
        (await client.post("/_emulator/webhook-config", json={"url": receiver.url})).raise_for_status()
        yield client


@pytest.fixture
async def gateway(stripe_server: RunningServer, control: httpx.AsyncClient) -> AsyncIterator[StripeGateway]:
    gw = StripeGateway(STRIPE_KEY, api_base=stripe_server.url, max_network_retries=0, timeout=5)
    yield gw
    await gw.aclose()


@pytest.fixture(scope="module")
def resend_server() -> Iterator[RunningServer]:
    with RunningServer(create_resend_app()) as server:
        yield server


@pytest.fixture
async def clean_resend(resend_server: RunningServer) -> RunningServer:
    """The Resend emulator with no emails, requests or faults left from earlier tests."""
    async with httpx.AsyncClient(base_url=resend_server.url) as client:
        (await client.post("/_emulator/reset")).raise_for_status()
    return resend_server


@pytest.fixture
async def resend(clean_resend: RunningServer) -> AsyncIterator[ResendClient]:
    async with ResendClient(RESEND_KEY, base_url=clean_resend.url, timeout=5) as client:
        yield client
