"""One runner for every way in: connects a transport to a session and what answers it.

A transport supplies its client's input and takes the server's events (`Transport`),
and says what the client asked for (`Context`); the runner builds the session
(`setup`), opens a driver for it on the backend (local session or relay), and feeds
that driver until the client leaves or the driver ends the session. Others may join
an open session (`join`): they hear every server event and may send client events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, replace

from vivavoce.protocol.errors import ProtocolError
from vivavoce.runtime.backends import Backend, Driver
from vivavoce.runtime.live import LiveSession, LiveSessions
from vivavoce.runtime.setup import open_session
from vivavoce.runtime.transport import AudioPlayer, Context, Transport
from vivavoce.settings import Settings
from vivavoce.store import ConversationStore
from vivavoce.types import InputAudio, Played, Receive

# Why those who joined a session are let go when it ends.
SESSION_ENDED = "session ended"


@dataclass
class _Open:
    driver: Driver
    closed: asyncio.Event


class Runner:
    def __init__(self, settings: Settings, backend: Backend,
                 store: ConversationStore | None = None) -> None:
        self.settings = settings
        self.backend = backend
        self.store = store
        self.sessions = LiveSessions()
        self._open: dict[str, _Open] = {}

    async def serve(self, transport: Transport, context: Context) -> str | None:
        """Run one session for `transport`'s client until it leaves (None) or the
        server ends the session (the reason, for the transport to pass on)."""
        # A transport that plays the audio itself gets the session's output buffer events.
        context = replace(context, server_playback=isinstance(transport, AudioPlayer))
        opening = open_session(self.settings, self.backend.tools, context)
        live = LiveSession(opening.session_id, opening.tools, self.store)
        live.listen(transport, context.extensions)
        self.sessions.add(live)
        driver = self.backend.open(opening, live)
        self._open[live.id] = open_ = _Open(driver, asyncio.Event())
        try:
            if opening.problem is not None:
                await driver.reject(opening.problem)
            await driver.start()
            if context.greeting and opening.persona.greeting:
                await driver.greet(opening.persona.greeting)
            return await _feed(transport.receive, driver, driver.ended())
        finally:
            open_.closed.set()  # whoever joined leaves with it
            await driver.close()
            self.sessions.remove(live.id)
            del self._open[live.id]

    async def join(self, session_id: str, transport: Transport,
                   extensions: bool = False) -> str | None:
        """Let `transport` into an open session: it hears every server event from now on
        and its client events go to the session, until it leaves (None) or the
        session ends. KeyError if no such session is open."""
        live, open_ = self.sessions[session_id], self._open[session_id]
        live.listen(transport, extensions)
        try:
            return await _feed(transport.receive, open_.driver, _when_set(open_.closed))
        finally:
            live.leave(transport)


async def _when_set(closed: asyncio.Event) -> str:
    await closed.wait()
    return SESSION_ENDED


async def _feed(receive: Receive, driver: Driver, end: Awaitable[str | None]) -> str | None:
    """Pass a client's input to `driver` until the client leaves (None) or `end` comes
    (its reason)."""

    async def receiving() -> None:
        while (got := await receive()) is not None:
            if isinstance(got, ProtocolError):
                await driver.reject(got)
            elif isinstance(got, InputAudio):
                await driver.audio(got.pcm)
            elif isinstance(got, Played):
                await driver.played(got)
            else:
                await driver.handle(got)

    client = asyncio.create_task(receiving())
    ending = asyncio.ensure_future(end)
    try:
        done, _ = await asyncio.wait({client, ending}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (client, ending):
            task.cancel()
        await asyncio.gather(client, ending, return_exceptions=True)
    if ending in done:
        return ending.result()
    client.result()  # the transport's own failure is the caller's to see
    return None
