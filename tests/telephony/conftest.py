"""Phone-bridge fixtures: a server in the test's own event loop (so a test can join a
call's session and see its events) and simulated Twilio callers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn

from tests.fakes import FakeBrain, FakeTransport, FakeVAD, until
from tests.helpers import free_port
from vivavoce.bench.phone import PhoneSimulator
from vivavoce.settings import Settings

AUTH_TOKEN = "twilio-auth-token-8f2e1a"


@dataclass
class PhoneServer:
    app: Any
    port: int
    settings: Settings

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def runner(self):
        return self.app.state.runner

    def caller(self) -> PhoneSimulator:
        return PhoneSimulator(self.http, self.settings.twilio_auth_token)

    async def session_of(self, phone: PhoneSimulator) -> str:
        """The session id of a simulated call, once the call is served."""
        streams = self.app.state.phone_calls.streams
        return await until(lambda: phone.call_sid in streams
                           and streams[phone.call_sid].session_id)

    async def watch(self, phone: PhoneSimulator) -> FakeTransport:
        """Join the call's session: every server event from now on, validated."""
        watcher = FakeTransport()
        watcher.joined = asyncio.ensure_future(  # type: ignore[attr-defined]
            self.runner.join(await self.session_of(phone), watcher))
        return watcher


@pytest.fixture
async def phone_server() -> AsyncIterator[Callable[..., Any]]:
    """await phone_server(brain=FakeBrain(), vad=FakeVAD(), **settings): a live server on
    loopback, served by this test's event loop (no greeting unless asked)."""
    from vivavoce.transports.app import create_app

    running: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(brain=None, vad=None, **settings) -> PhoneServer:
        port = free_port()
        settings.setdefault("phone_greeting", False)
        settings.setdefault("public_url", f"http://127.0.0.1:{port}")
        config = Settings(port=port, max_calls=0, **settings)
        app = create_app(config, brain or FakeBrain(), vad or FakeVAD())
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning"))
        task = asyncio.ensure_future(server.serve())
        running.append((server, task))
        await until(lambda: server.started or task.done(), 10)
        return PhoneServer(app, port, config)

    yield start
    for server, task in running:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def phones() -> AsyncIterator[Callable[[PhoneSimulator], PhoneSimulator]]:
    """phones(sim): closes the simulated call when the test ends."""
    made: list[PhoneSimulator] = []

    def keep(phone: PhoneSimulator) -> PhoneSimulator:
        made.append(phone)
        return phone

    yield keep
    for phone in made:
        await phone.close()


def brain(*scripts) -> FakeBrain:
    return FakeBrain(scripts=list(scripts))
