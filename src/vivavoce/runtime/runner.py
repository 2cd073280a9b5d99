"""One runner for every way in: connects a transport to a session and what answers it.

A transport supplies its client's input and takes the server's events (`Transport`),
and says what the client asked for (`Context`); the runner builds the session
(`setup`) or restores a stored one (`?resume=`), opens a driver for it on the backend
(local session or relay), keeps it in the store (`saving`), and feeds that driver until
the client leaves or the session ends: the driver ends it, another connection takes it
over, the client falls too far behind in reading, or it reaches its maximum length.
Others may join an open session (`join`): they hear every server event and may send
client events.

Each client input is handed over under a last line of defence: whatever fails while it
is handled becomes one `error` for that input, and the session goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import Any

from vivavoce.protocol import ids
from vivavoce.protocol.client_events import client_event_id
from vivavoce.protocol.errors import ProtocolError, server_error
from vivavoce.runtime.backends import Backend, Driver
from vivavoce.runtime.calls import CallRegistry
from vivavoce.runtime.limits import Admission
from vivavoce.runtime.live import LiveSession, LiveSessions
from vivavoce.runtime.memory import give_back
from vivavoce.runtime.outbound import Backlog
from vivavoce.runtime.resume import (
    Instance,
    ResumeError,
    not_found,
    store_unreachable,
    watch_attachments,
)
from vivavoce.runtime.saving import SessionSaver
from vivavoce.runtime.setup import Opening, open_session, resumed_session
from vivavoce.runtime.transport import AudioPlayer, Context, Transport
from vivavoce.settings import Settings
from vivavoce.store import SessionRecord, Store
from vivavoce.store.sql import DELETED, RESUMED_ELSEWHERE
from vivavoce.types import ClientInput, Ending, InputAudio, Played, Receive

log = logging.getLogger(__name__)

# Why those who joined a session are let go when it ends.
SESSION_ENDED = "session ended"
SESSION_EXPIRED = Ending("session expired", Ending.POLICY)
# How long a session's last events may take to go out once the server ends it.
DRAIN_S = 5.0
PURGE_INTERVAL_S = 3600.0


@dataclass
class _Open:
    driver: Driver
    closed: asyncio.Event  # the session ended: those who joined leave
    finished: asyncio.Event  # ...and everything it had to write is written


class Runner:
    def __init__(self, settings: Settings, backend: Backend, store: Store | None = None,
                 instance: Instance | None = None) -> None:
        self.settings = settings
        self.backend = backend
        self.store = store
        self.instance = instance or Instance(ids.new_id("inst_"),
                                             f"http://{settings.host}:{settings.port}")
        self.sessions = LiveSessions()
        self.calls = CallRegistry(store, self.instance)
        self._open: dict[str, _Open] = {}
        # Transports ask it before they let a client in, and hold the ticket meanwhile.
        self.admission = Admission(settings.max_sessions, settings.max_sessions_per_key)
        self.backlog = Backlog(audio_ms=round(settings.send_backlog_s * 1000))

        self._background: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ lifetime
    def start(self) -> None:
        """Background work while serving: noticing sessions taken over elsewhere, and
        the retention purge."""
        if self.store is not None:
            self._background = [asyncio.create_task(watch_attachments(self.store,
                                                                      self.sessions)),
                                asyncio.create_task(self._purge_now_and_then())]

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    async def purge(self) -> int:
        """Erase sessions older than the retention period (if one is set) and expired
        client secrets; how many sessions went."""
        assert self.store is not None
        now = time.time()
        days = self.settings.retention_days
        return await self.store.purge(now - days * 86400 if days else 0.0, now)

    async def _purge_now_and_then(self) -> None:
        while True:
            try:
                if gone := await self.purge():
                    log.info("retention: %d sessions erased", gone)
            except Exception as exc:
                log.warning("retention purge failed: %s", exc)
            await asyncio.sleep(PURGE_INTERVAL_S)

    async def delete(self, session_id: str) -> bool:
        """Erase a session; if it is open here, its connection closes."""
        assert self.store is not None
        deleted = await self.store.delete(session_id)
        live = self.sessions.get(session_id)
        if live is not None:
            live.end(DELETED)
            deleted = True
        return deleted

    # ------------------------------------------------------------------ sessions
    async def serve(self, transport: Transport, context: Context) -> str | None:
        """Run one session for `transport`'s client until it leaves (None) or the
        server ends the session (the reason, for the transport to pass on; an `Ending`
        says which close code goes with it)."""
        # A transport that plays the audio itself gets the session's output buffer events.
        context = replace(context, server_playback=isinstance(transport, AudioPlayer))
        try:
            opening = await (self._resumed(context) if context.resume else
                             self._new(context))
        except ResumeError as err:
            await transport.send(err.to_event())
            return err.message
        saver = self._saver(opening, context)
        live = LiveSession(opening.session_id, opening.tools, saver, opening.items,
                           keep_audio=self.settings.store_audio and saver is not None)
        outbound = live.listen(transport, context.extensions, self.backlog)
        self.sessions.add(live)
        driver = self.backend.open(opening, live)
        live.user_audio = driver.user_audio
        self._open[live.id] = open_ = _Open(driver, asyncio.Event(), asyncio.Event())
        try:
            if opening.problem is not None:
                await driver.reject(opening.problem)
            await driver.start()
            # A resumed session's conversation is under way: no greeting again.
            if context.greeting and opening.persona.greeting and opening.restored is None:
                await driver.greet(opening.persona.greeting)
            return await _feed(transport.receive, driver, _first_of(
                _ending(driver, live), outbound.done, self._expire(driver)))
        finally:
            open_.closed.set()  # whoever joined leaves with it
            await driver.close()
            await live.leave(transport, DRAIN_S)
            if saver is not None:
                await saver.close()
            self.sessions.remove(live)
            if self._open.get(live.id) is open_:
                del self._open[live.id]
            open_.finished.set()
            if not self.sessions:  # the last one gone: what it used goes back
                await give_back()

    async def claim(self, context: Context) -> Context:
        """`context` with the id of the session it will open settled ahead (a WebRTC
        call is registered under its session before the session opens)."""
        if context.resume:
            return context
        return replace(context, session_id=await self._unused(context.session_id))

    async def _new(self, context: Context) -> Opening:
        return open_session(self.settings, self.backend.tools, context,
                            await self._unused(context.session_id))

    async def _unused(self, session_id: str | None) -> str:
        """The id a new session gets: its client secret's, unless that opened a session
        already (a secret used again opens another)."""
        if session_id is not None and self.store is not None:
            with contextlib.suppress(Exception):
                if await self.store.session(session_id) is not None:
                    session_id = None
        return session_id or ids.new_id("sess_")

    async def _resumed(self, context: Context) -> Opening:
        session_id = context.resume
        assert session_id is not None
        if self.store is None:
            raise not_found(session_id)
        previous = self._open.get(session_id)
        if previous is not None:
            # A session has one connection at a time: the newest takes it over.
            self.sessions[session_id].end(RESUMED_ELSEWHERE)
            await previous.finished.wait()
        try:
            record = await self.store.attach(session_id, self.instance.id)
            items = await self.store.items(session_id) if record is not None else []
        except Exception as exc:
            log.warning("cannot resume %s: %s", session_id, exc)
            raise store_unreachable() from None
        if record is None:
            raise not_found(session_id)
        return resumed_session(self.settings, self.backend.tools, context, record, items)

    def _saver(self, opening: Opening, context: Context) -> SessionSaver | None:
        if self.store is None:
            return None
        record = opening.restored
        if record is None:
            now = time.time()
            record = SessionRecord(
                id=opening.session_id, created_at=now, updated_at=now, owner=context.owner,
                persona=opening.persona.name, model=opening.model, config={},
                resume_token_hash=context.resume_token_hash, holder=self.instance.id,
                attachment=1)
        return SessionSaver(self.store, record, opening.items, in_store=opening.restored
                            is not None, tool_state=opening.tools.state)

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


async def _ending(driver: Driver, live: LiveSession) -> str | None:
    """When the driver ends the session, or this connection must let it go: why."""
    by_driver = asyncio.ensure_future(driver.ended())
    try:
        await asyncio.wait({by_driver, live.ended}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        by_driver.cancel()
    if live.ended.done():
        return live.ended.result()
    return by_driver.result()


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
