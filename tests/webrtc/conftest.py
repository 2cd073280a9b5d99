"""WebRTC test fixtures: a private network namespace (tests/netns.py), servers inside it,
and aiortc callers. The test's own thread is inside the namespace while it runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes import FakeBrain, FakeVAD
from tests.helpers import LiveServer, start_server
from tests.netns import NetNamespace, create_namespace
from vivavoce.settings import Settings


@pytest.fixture(scope="session")
def netns() -> Iterator[NetNamespace]:
    ns = create_namespace()
    yield ns
    ns.delete()


@pytest.fixture
def inside(netns: NetNamespace) -> Iterator[NetNamespace]:
    """This test runs in the namespace: its sockets and the servers it starts live there."""
    with netns.entered():
        yield netns


@pytest.fixture
def serve(inside) -> Iterator[Callable[..., LiveServer]]:
    """serve(brain=None, vad=FakeVAD(), **settings): a server in the namespace (on
    `port` when the settings name one)."""
    from vivavoce.transports.app import create_app

    servers: list[LiveServer] = []

    def start(brain=None, vad=None, **settings) -> LiveServer:
        config = Settings(**settings)
        live = start_server(create_app(config, brain or FakeBrain(), vad or FakeVAD()), config,
                            settings.get("port"))
        servers.append(live)
        return live

    yield start
    for live in servers:
        live.stop()


@pytest.fixture
async def callers(inside):
    """callers(): a new aiortc caller (closed when the test ends)."""
    from vivavoce.bench.call_client import CallClient

    made: list[CallClient] = []

    def make() -> CallClient:
        made.append(CallClient())
        return made[-1]

    yield make
    for client in made:
        await client.close()


@pytest.fixture
def chromium_inside(inside, tmp_path) -> Path:
    """Chromium, started inside the namespace (Playwright's own process is not)."""
    from tests.web.conftest import CHROMIUM

    return inside.wrap(CHROMIUM, tmp_path)
