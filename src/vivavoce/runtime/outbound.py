"""Server events on their way to one listener: a bounded queue and the task that writes it.

The session never waits for a client's socket: it puts events here and goes on. A
client that reads slower than the session speaks lets the queue grow; past the backlog
it may have (seconds of assistant audio, or a number of events) it is let go with a
reason instead of being buffered for without end.

This is also the one place where delivering an event may fail, for every transport: an
event too large for the client's messages is sent without its inline audio if that
makes it fit, else not at all; any failure to deliver one event is one logged incident
and one `error` to the client, and the listener goes on. Only a client that is gone
(`ClientGone`), or a transport that fails event after event, ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from vivavoce.audio.formats import base64_bytes
from vivavoce.output_buffer import ResponseFormats
from vivavoce.protocol.errors import ProtocolError, server_error
from vivavoce.protocol.fitting import without_audio
from vivavoce.types import Ending, Event

log = logging.getLogger(__name__)

# Events in a row a transport may fail to deliver before its listener is let go: one
# failure is an incident, this many is a connection that no longer carries anything.
MAX_FAILURES_IN_A_ROW = 20


@dataclass(frozen=True)
class Backlog:
    """How far a listener may fall behind before it is let go."""

    audio_ms: int = 10_000  # assistant audio waiting to be sent
    events: int = 10_000  # events of any kind waiting


class ClientGone(Exception):
    """A transport's client is no longer there to send to (raised by `Transport.send`)."""


class TooLarge(Exception):
    """An event is larger than the client accepts in one message (raised by
    `Transport.send`, which sent nothing of it)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} bytes, the client accepts at most {limit} per message")
        self.size = size
        self.limit = limit


class Outbound:
    """One listener's queue. `done` resolves when the listener is let go: with an Ending
    when it fell too far behind, None when its client went away, or the exception its
    transport failed with."""

    def __init__(self, deliver: Callable[[Event], Awaitable[None]], backlog: Backlog,
                 count_audio: bool = True) -> None:
        """`count_audio`: whether waiting audio counts against the backlog (not for a
        transport that paces the audio it plays itself)."""
        self._deliver = deliver
        self._failures = 0  # events in a row that could not be delivered
        self._backlog = backlog
        self._count_audio = count_audio
        self._queue: deque[tuple[Event, int]] = deque()
        self._audio_ms = 0
        self._formats = ResponseFormats()
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.done: asyncio.Future[Ending | None] = asyncio.get_running_loop().create_future()
        self.peak = 0  # the most events ever waiting at once
        self._task = asyncio.create_task(self._write())

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, event: Event) -> None:
        if self.done.done():
            return
        ms = self._audio_ms_of(event)
        self._queue.append((event, ms))
        self._audio_ms += ms
        self.peak = max(self.peak, len(self._queue))
        self._idle.clear()
        self._ready.set()
        if self._audio_ms > self._backlog.audio_ms or len(self._queue) > self._backlog.events:
            waiting = f"{self._audio_ms / 1000:.0f} s of audio" if self._audio_ms \
                > self._backlog.audio_ms else f"{len(self._queue)} events"
            self._let_go(Ending(f"slow reader: {waiting} not yet read", Ending.POLICY))

    def _audio_ms_of(self, event: Event) -> int:
        self._formats.follow(event)
        if event["type"] == "response.output_audio.delta" and self._count_audio:
            rate = self._formats.of(event["response_id"]).bytes_per_ms
            return base64_bytes(event["delta"]) // rate
        return 0

    def _let_go(self, why: Ending | None) -> None:
        if not self.done.done():
            self.done.set_result(why)
        self._queue.clear()  # nobody will read these: free them now
        self._audio_ms = 0
        self._idle.set()
        self._task.cancel()

    async def _write(self) -> None:
        try:
            while True:
                await self._ready.wait()
                while self._queue:
                    event, ms = self._queue[0]
                    await self._send(event)
                    if self.done.done():  # let go meanwhile: the queue is gone
                        return
                    self._queue.popleft()
                    self._audio_ms -= ms
                self._ready.clear()
                self._idle.set()
        except ClientGone:
            self._let_go(None)

    async def _send(self, event: Event) -> None:
        """Deliver one event, or tell the client why it could not be."""
        try:
            await self._deliver(event)
        except TooLarge as err:
            lighter = without_audio(event)
            if lighter is not None:  # the item's audio is the client's own: it has it
                with contextlib.suppress(TooLarge):
                    await self._deliver(lighter)
                    log.info("a %s event was sent without its audio (%s)", event["type"], err)
                    self._failures = 0
                    return
            log.error("a %s event was not sent: %s", event["type"], err)
            await self._failed(too_large(event["type"], err))
        except (ClientGone, asyncio.CancelledError):
            raise
        except Exception as exc:
            await self._failed(server_error(f"sending a {event['type']} event", exc))
        else:
            self._failures = 0

    async def _failed(self, err: ProtocolError) -> None:
        """One event was lost: tell the client if the transport still can."""
        self._failures += 1
        if self._failures >= MAX_FAILURES_IN_A_ROW:
            self._let_go(Ending(f"{self._failures} events in a row could not be delivered",
                                Ending.INTERNAL))
            return
        try:
            await self._deliver(err.to_event())
        except (ClientGone, asyncio.CancelledError):
            raise
        except Exception as exc:
            log.warning("could not tell the client either: %r", exc)

    async def close(self, drain_s: float = 0.0) -> None:
        """Stop writing; first, for up to `drain_s`, let what is queued go out."""
        if drain_s and not self.done.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), drain_s)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if not self.done.done():
            self.done.set_result(None)



def too_large(event_type: str, err: TooLarge) -> ProtocolError:
    return ProtocolError(
        "event_too_large",
        f"A {event_type} event of {err.size} bytes was not sent: this connection carries "
        f"at most {err.limit} bytes per message. The session goes on.", type="server_error")
