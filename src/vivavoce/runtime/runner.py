"""One runner for every way in: connects a transport to a session and what answers it.

A transport supplies its client's input and takes the server's events (`Transport`),
and says what the client asked for (`Context`); the runner builds the session
(`setup`), opens a driver for it on the backend (local session or relay), and feeds
that driver until the client leaves or the session ends: the driver ends it, the client
falls too far behind in reading, or it reaches its maximum length. Others may join an
open session (`join`): they hear every server event and may send client events.

Each client input is handed over under a last line of defence: whatever fails while it
is handled becomes one `error` for that input, and the session goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import Any

from vivavoce.protocol.client_events import client_event_id
from vivavoce.protocol.errors import ProtocolError, server_error
from vivavoce.runtime.backends import Backend, Driver
from vivavoce.runtime.limits import Admission
from vivavoce.runtime.live import LiveSession, LiveSessions
from vivavoce.runtime.outbound import Backlog
from vivavoce.runtime.setup import open_session
from vivavoce.runtime.transport import AudioPlayer, Context, Transport
from vivavoce.settings import Settings
from vivavoce.store import ConversationStore
from vivavoce.types import ClientInput, Ending, InputAudio, Played, Receive

# Why those who joined a session are let go when it ends.
SESSION_ENDED = "session ended"
SESSION_EXPIRED = Ending("session expired", Ending.POLICY)
# How long a session's last events may take to go out once the server ends it.
DRAIN_S = 5.0


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
        # Transports ask it before they let a client in, and hold the ticket meanwhile.
        self.admission = Admission(settings.max_sessions, settings.max_sessions_per_key)
        self.backlog = Backlog(audio_ms=round(settings.send_backlog_s * 1000))

    async def serve(self, transport: Transport, context: Context) -> str | None:
        """Run one session for `transport`'s client until it leaves (None) or the
        server ends the session (the reason, for the transport to pass on; an `Ending`
        says which close code goes with it)."""
        # A transport that plays the audio itself gets the session's output buffer events.
        context = replace(context, server_playback=isinstance(transport, AudioPlayer))
        opening = open_session(self.settings, self.backend.tools, context)
        live = LiveSession(opening.session_id, opening.tools, self.store)
        outbound = live.listen(transport, context.extensions, self.backlog)
        self.sessions.add(live)
        driver = self.backend.open(opening, live)
        self._open[live.id] = open_ = _Open(driver, asyncio.Event())
        try:
            if opening.problem is not None:
                await driver.reject(opening.problem)
            await driver.start()
            return await _feed(transport.receive, driver, _first_of(
                driver.ended(), outbound.done, self._expire(driver)))
        finally:
            open_.closed.set()  # whoever joined leaves with it
            await driver.close()
            await live.leave(transport, DRAIN_S)
            self.sessions.remove(live.id)
            del self._open[live.id]

    async def join(self, session_id: str, transport: Transport,
                   extensions: bool = False) -> str | None:
        """Let `transport` into an open session: it hears every server event from now on
        and its client events go to the session, until it leaves (None) or the
        session ends. KeyError if no such session is open."""
        live, open_ = self.sessions[session_id], self._open[session_id]
        outbound = live.listen(transport, extensions, self.backlog)
        try:
            return await _feed(transport.receive, open_.driver,
                               _first_of(_when_set(open_.closed), outbound.done))
        finally:
            await live.leave(transport)

    async def _expire(self, driver: Driver) -> Ending:
        """A session's end when it reaches its maximum length (as hosted: told, then closed)."""
        await asyncio.sleep(self.settings.max_session_s)
        minutes = self.settings.max_session_s / 60
        await driver.reject(ProtocolError(
            "session_expired", f"Your session hit the maximum duration of {minutes:g} minutes."))
        return SESSION_EXPIRED


async def _when_set(closed: asyncio.Event) -> str:
    await closed.wait()
    return SESSION_ENDED


async def _feed(receive: Receive, driver: Driver, end: Awaitable[str | None]) -> str | None:
    """Pass a client's input to `driver` until the client leaves (None) or `end` comes
    (its reason)."""

    async def receiving() -> None:
        while (got := await receive()) is not None:
            try:
                await _hand_over(got, driver)
            except Exception:  # one input is lost, not the session
                await driver.reject(server_error(_what(got)), client_event_id(got))

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


async def _hand_over(got: ClientInput, driver: Driver) -> None:
    if isinstance(got, ProtocolError):
        await driver.reject(got)
    elif isinstance(got, InputAudio):
        await driver.audio(got.pcm)
    elif isinstance(got, Played):
        await driver.played(got)
    else:
        await driver.handle(got)


def _what(got: ClientInput) -> str:
    """What an input was, for the log: its event type if it has a known one."""
    if isinstance(got, InputAudio):
        return "input audio"
    if isinstance(got, Played):
        return "a playback report"
    type_ = got.get("type") if isinstance(got, dict) else None
    return type_ if isinstance(type_, str) and len(type_) <= 64 else "a client event"


def _first_of(*waits: Awaitable[Any]) -> Awaitable[Any]:
    """Whichever of `waits` finishes first (its result); the others are cancelled."""

    async def race() -> Any:
        # A future others hold (a listener's `done`) is watched, never cancelled.
        tasks = [asyncio.ensure_future(asyncio.shield(w) if isinstance(w, asyncio.Future) else w)
                 for w in waits]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            return done.pop().result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    return race()
