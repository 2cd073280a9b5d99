"""The sessions open right now, and who hears each: the client that opened it and any
that joined it (a backend on the sideband, say). Every server event goes through
`LiveSession.publish`: into the conversation log (an item made final is in the store
before the event that says so is sent), then into each listener's bounded outbound
queue (`outbound`), which its own task writes."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from vivavoce import metrics
from vivavoce.audio.formats import Decoder
from vivavoce.output_buffer import ResponseFormats
from vivavoce.runtime.outbound import Backlog, Outbound
from vivavoce.runtime.saving import SessionSaver, unsaved_error
from vivavoce.runtime.transport import AudioPlayer, Transport
from vivavoce.session.spans import SPANS_EVENT
from vivavoce.store import ConversationLog, UsageRecord
from vivavoce.tools import ToolContext
from vivavoce.types import Event, Item


@dataclass
class _Listener:
    transport: Transport
    extensions: bool  # vivavoce's own events (turn spans) too
    # For a transport that plays audio itself: the wire format of each response's
    # audio, and a decoder per response.
    formats: ResponseFormats = field(default_factory=ResponseFormats)
    decoders: dict[str, Decoder] = field(default_factory=dict)
    outbound: Outbound = field(init=False)

    async def deliver(self, event: Event) -> None:
        type_ = event["type"]
        if type_ == SPANS_EVENT and not self.extensions:
            return
        if isinstance(self.transport, AudioPlayer):
            if type_ == "response.output_audio.delta":
                await self._play(event)
                return
            self._track(event)
        await self.transport.send(event)

    def _track(self, event: Event) -> None:
        self.formats.follow(event)
        if event["type"] == "response.done":
            self.decoders.pop((event.get("response") or {}).get("id", ""), None)

    async def _play(self, event: Event) -> None:
        assert isinstance(self.transport, AudioPlayer)
        rid = event["response_id"]
        decoder = self.decoders.get(rid)
        if decoder is None:
            decoder = self.decoders[rid] = Decoder(self.formats.of(rid))
        await self.transport.play(rid, event["item_id"], decoder.decode(
            base64.b64decode(event["delta"])))


class LiveSession:
    def __init__(self, session_id: str, tools: ToolContext, saver: SessionSaver | None = None,
                 restored: list[Item] | None = None, keep_audio: bool = False) -> None:
        """`keep_audio`: the items' audio is saved too (--store-audio)."""
        self.id = session_id
        self.tools = tools  # per-session tool state (the escape room's door)
        self.log = ConversationLog(session_id, restored, keep_audio)
        self.saver = saver
        # The user's audio of an item, as its driver kept it (set once the driver opens).
        self.user_audio: Callable[[str], np.ndarray | None] = lambda item_id: None
        self._listeners: list[_Listener] = []
        # Why this connection must let the session go (resumed elsewhere, deleted).
        self.ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if saver is not None:
            saver.lost.add_done_callback(lambda lost: self.end(lost.result()))

    def end(self, reason: str) -> None:
        if not self.ended.done():
            self.ended.set_result(reason)

    def listen(self, transport: Transport, extensions: bool = False,
               backlog: Backlog | None = None) -> Outbound:
        """Add a listener; its outbound queue says when it has to go (`Outbound.done`)."""
        listener = _Listener(transport, extensions)
        # A transport that plays the audio itself paces it: waiting audio is not a backlog.
        listener.outbound = Outbound(listener.deliver, backlog or Backlog(),
                                     count_audio=not isinstance(transport, AudioPlayer))
        self._listeners.append(listener)
        return listener.outbound

    def outbound(self, transport: Transport) -> Outbound:
        """The queue toward a listener (KeyError if it is not listening)."""
        for listener in self._listeners:
            if listener.transport is transport:
                return listener.outbound
        raise KeyError(transport)

    async def leave(self, transport: Transport, drain_s: float = 0.0) -> None:
        """Remove a listener, first letting what is queued for it go out (up to `drain_s`)."""
        for listener in [li for li in self._listeners if li.transport is transport]:
            self._listeners.remove(listener)
            await listener.outbound.close(drain_s)

    async def publish(self, event: Event) -> None:
        """One server event to everyone listening; a finalized item is stored first."""
        final = self.log.observe(event)
        saver = self.saver
        if saver is not None:
            await self._save(saver, event, final)
            if self.ended.done() or saver.lost.done():
                return  # the session is someone else's now: not one more word from here
        if event["type"] == SPANS_EVENT:
            metrics.record_turn(event)
        self._deliver(event)
        if saver is not None and saver.take_alarm():
            self._deliver(unsaved_error())

    async def _save(self, saver: SessionSaver, event: Event, final: bool) -> None:
        type_ = event["type"]
        if type_ == "session.created":
            # The client learns the session id here: from now on it can resume it.
            await saver.durable(saver.want(config=event["session"]))
        elif type_ == "session.updated":
            saver.want(config=event["session"])
        elif type_ == "response.done" and event["response"].get("usage"):
            response = event["response"]
            saver.want(usage=UsageRecord(response["id"], response["status"], response["usage"]))
        if final:
            if self.log.keep_audio and type_ == "conversation.item.added" \
                    and event["item"].get("role") == "user":
                self.log.keep_user_audio(event["item"]["id"], self.user_audio(event["item"]["id"]))
            await saver.durable(saver.want(items=self.log.items(),
                                           audio=self.log.new_audio()))

    def _deliver(self, event: Event) -> None:
        for listener in self._listeners:
            listener.outbound.put(event)


class LiveSessions(Mapping[str, LiveSession]):
    """Open sessions by id (operators read their logs; listeners join them)."""

    def __init__(self) -> None:
        self._open: dict[str, LiveSession] = {}

    def add(self, session: LiveSession) -> None:
        self._open[session.id] = session

    def remove(self, session: LiveSession) -> None:
        """Forget `session` (not a newer connection's session of the same id)."""
        if self._open.get(session.id) is session:
            del self._open[session.id]

    def __getitem__(self, session_id: str) -> LiveSession:
        return self._open[session_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._open)

    def __len__(self) -> int:
        return len(self._open)

    def tool_contexts(self) -> Mapping[str, ToolContext]:
        """The same sessions, as the tool state of each (a live view)."""
        return _ToolContexts(self)


class _ToolContexts(Mapping[str, ToolContext]):
    def __init__(self, sessions: LiveSessions) -> None:
        self._sessions = sessions

    def __getitem__(self, session_id: str) -> ToolContext:
        return self._sessions[session_id].tools

    def __iter__(self) -> Iterator[str]:
        return iter(self._sessions)

    def __len__(self) -> int:
        return len(self._sessions)
