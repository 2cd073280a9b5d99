"""The relay's protocol logic, sans-I/O: one client session bridged to an upstream
Realtime session (both GA; the transport translates a beta client at its edge).

Events in — from the client, from upstream, tool results, the upstream link going
down or coming up — and out: events for each side plus commands (run a tool, cancel
one, count usage, end the session). The I/O half is `relay.RelayConnection`.

What the bridge adds to a plain proxy:
- server tools are merged into the upstream session's tools and run here when the
  upstream model calls them (unless the client declared a tool of the same name);
- a conversation log, replayed into a fresh upstream session after a drop, with the
  session config, while the client's events wait;
- token usage summed per session, with an optional cap;
- on a transport that plays the audio itself (WebRTC), the `output_audio_buffer.*`
  events, and the cut when the upstream hears the user talk over its answer (an
  upstream on a WebSocket leaves playback to its client: here, that is this server).
Events the relay causes upstream (its session.updates, replayed items) are answered
upstream like any other; those answers are not the client's business and are dropped.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vivavoce.audio.formats import FORMATS, Encoder, base64_bytes, duration_ms
from vivavoce.output_buffer import OutputBuffer, ResponseFormats
from vivavoce.protocol import ids
from vivavoce.protocol.errors import ProtocolError
from vivavoce.store.log import ConversationLog
from vivavoce.tools import offer
from vivavoce.types import Ending, Event, Played, Usage

# The event_id prefix of everything the relay itself sends upstream.
OWN_PREFIX = "evt_relay_"
# Client events held while upstream reconnects: ~100 s of 20 ms audio frames.
MAX_HELD = 5000
# What a session.update may carry (the rest of a session object is read-only).
SESSION_KEYS = ("type", "output_modalities", "instructions", "audio", "include", "tracing",
                 "tools", "tool_choice", "max_output_tokens", "truncation", "prompt")
_ITEM_ACKS = ("conversation.item.added", "conversation.item.done", "conversation.item.created")


@dataclass(frozen=True)
class RunServerTool:
    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class CancelServerTool:
    call_id: str


@dataclass(frozen=True)
class Metered:
    """Token usage of one upstream response."""

    usage: dict[str, Any]


@dataclass(frozen=True)
class EndSession:
    reason: str
    code: int = Ending.NORMAL  # the close code a WebSocket client gets


Command = RunServerTool | CancelServerTool | Metered | EndSession


@dataclass
class _Pending:
    """Server tool calls of one upstream response, and whether it has finished."""

    calls: set[str] = field(default_factory=set)
    done: bool = False


def _error(code: str, message: str, type_: str = "server_error") -> Event:
    return ProtocolError(code, message, type=type_).to_event()


class RelayBridge:
    def __init__(self, *, log: ConversationLog, server_tools: list[dict[str, Any]],
                 session: dict[str, Any], usage_cap: int | None = None,
                 server_playback: bool = False) -> None:
        """`session` is the session.update body the upstream session starts with (the
        persona's instructions, any client-secret settings); server tools are added.
        `server_playback`: the client's transport plays the audio and reports it."""
        self.log = log
        self.usage = Usage()
        self._server_tools = {t["name"]: t for t in server_tools}
        self._client_tools: list[dict[str, Any]] = list(session.get("tools") or [])
        self._session: dict[str, Any] = {k: v for k, v in session.items() if k != "tools"}
        self._usage_cap = usage_cap
        self._own = (f"{OWN_PREFIX}{n}" for n in itertools.count())
        self._own_sent: set[str] = set()
        self._own_update_ids: set[str] = set()
        self._own_updates = 0  # session.updated answers still owed to the relay
        self._upstream_session: dict[str, Any] = {}
        self._replayed: set[str] = set()
        self._announced = False  # whether the client has had its session.created
        self._early: list[Event] = []  # upstream events that came before that
        self._restored = False  # whether the upstream session is a replacement
        self.up = False
        self._held: deque[Event] = deque()
        self._active: dict[str, Any] | None = None  # the upstream response in progress
        self._pending: dict[str, _Pending] = {}  # response id → its server tool calls
        self._call_response: dict[str, str] = {}  # call id → response id
        self._ended = False
        self._to_client: list[Event] = []
        self._to_upstream: list[Event] = []
        self._commands: list[Command] = []
        # The upstream session's input audio format, for audio that came without JSON.
        self._input_encoder = Encoder(FORMATS["audio/pcm"])
        self._output = OutputBuffer(self._emit) if server_playback else None
        self._formats = ResponseFormats()

    # ------------------------------------------------------------------ outputs
    def drain(self) -> tuple[list[Event], list[Event], list[Command]]:
        out = self._to_client, self._to_upstream, self._commands
        self._to_client, self._to_upstream, self._commands = [], [], []
        return out

    def _send_own(self, event: Event) -> None:
        event["event_id"] = next(self._own)
        self._own_sent.add(event["event_id"])
        if event["type"] == "session.update":
            self._own_update_ids.add(event["event_id"])
            self._own_updates += 1
        self._to_upstream.append(event)

    def _tell_client(self, event: Event) -> None:
        self._to_client.append(event)

    def _emit(self, type_: str, **fields: Any) -> None:
        self._tell_client({"type": type_, "event_id": ids.event_id(), **fields})

    # ------------------------------------------------------------------ tools
    def _tools(self) -> list[dict[str, Any]]:
        return offer(self._client_tools, self._server_tools)[0]

    def _serves(self, name: str) -> bool:
        return name in offer(self._client_tools, self._server_tools)[1]

    def _client_view(self, session: dict[str, Any]) -> dict[str, Any]:
        """A session object as the client set it: without the server's tools, and under
        the relay's session id, which outlives any one upstream session."""
        view = dict(session, id=self.log.session_id)
        if isinstance(view.get("tools"), list):
            view["tools"] = [t for t in view["tools"] if not self._serves(t.get("name", ""))]
        return view

    # ------------------------------------------------------------------ upstream link
    def upstream_opened(self) -> None:
        """A fresh upstream session: configure it, restore the conversation, then let the
        held client events through."""
        self._restored = self._announced
        update = {**self._session, "type": "realtime", "tools": self._tools()}
        self._send_own({"type": "session.update", "session": update})
        for item in self.log.replay():
            self._replayed.add(item["id"])
            self._send_own({"type": "conversation.item.create", "item": item})
        self.up = True
        while self._held:
            self.client_event(self._held.popleft())

    def upstream_lost(self) -> None:
        """The upstream socket closed under us. The client's session stays open."""
        self.up = False
        self._own_updates = 0
        for call_id in list(self._call_response):
            self._commands.append(CancelServerTool(call_id))
        self._pending.clear()
        self._call_response.clear()
        if self._active is not None:
            self._tell_client({
                "type": "response.done", "event_id": ids.event_id(),
                "response": {**self._active, "status": "failed", "status_details": {
                    "type": "failed", "reason": None,
                    "error": {"type": "server_error", "code": "upstream_lost"}}}})
            self._active = None
        self._tell_client(_error(
            "upstream_lost", "The connection to the upstream Realtime API dropped. "
            "Reconnecting; the conversation so far will be restored and this session "
            "stays open."))

    def upstream_failed(self, reason: str) -> None:
        """Reconnecting failed for good."""
        self._tell_client(_error("upstream_unavailable",
                                 f"The upstream Realtime API is unavailable: {reason}"))
        self._commands.append(EndSession("upstream unavailable", Ending.TRY_AGAIN))

    def unsent(self, events: list[Event]) -> None:
        """Events the upstream socket refused as it dropped: the client's wait for the
        next upstream (the relay's own are remade on reconnecting)."""
        mine = [e for e in events if not str(e.get("event_id", "")).startswith(OWN_PREFIX)]
        self._held.extendleft(reversed(mine))

    # ------------------------------------------------------------------ client → upstream
    def client_event(self, event: Event) -> None:
        if self._ended:
            return
        if not self.up:
            if len(self._held) >= MAX_HELD:
                self._tell_client(_error(
                    "upstream_reconnecting", "The upstream is reconnecting and this event "
                    "could not be held; send it again shortly.", "invalid_request_error"))
                return
            self._held.append(event)
            return
        type_ = event.get("type")
        if type_ == "session.update" and isinstance(event.get("session"), dict):
            session = dict(event["session"])
            if isinstance(session.get("tools"), list):
                self._client_tools = [t for t in session["tools"] if isinstance(t, dict)]
                session["tools"] = self._tools()
            self._session.update({k: copy.deepcopy(v) for k, v in session.items()
                                  if k in SESSION_KEYS and k != "tools"})
            event = {**event, "session": session}
        elif type_ == "response.create" and isinstance(event.get("response"), dict) \
                and isinstance(event["response"].get("tools"), list):
            tools = offer(event["response"]["tools"], self._server_tools)[0]
            event = {**event, "response": {**event["response"], "tools": tools}}
        elif type_ == "response.cancel":
            self._cancel_tools()
        elif type_ == "output_audio_buffer.clear" and self._output is not None:
            self._clear_output(event)
            return
        self._to_upstream.append(event)

    def client_audio(self, pcm: np.ndarray) -> None:
        """Input audio that came as audio (int16, 24 kHz), appended in the session's format."""
        data = self._input_encoder.encode(pcm)
        if data:
            self.client_event({"type": "input_audio_buffer.append",
                               "audio": base64.b64encode(data).decode()})

    # ------------------------------------------------------------------ server playback
    def played(self, report: Played) -> None:
        """What the transport has played; a cut keeps upstream only what was heard."""
        if report.state == "cleared":
            self.client_event({"type": "conversation.item.truncate",
                               "item_id": report.item_id, "content_index": 0,
                               "audio_end_ms": duration_ms(report.item_samples)})
        elif self._output is not None:
            self._output.played(report)

    def _clear_output(self, event: Event) -> None:
        assert self._output is not None
        active = self._active.get("id") if self._active else None
        try:
            self._output.clear_for_client(active, lambda _: self._send_own(
                {"type": "response.cancel"}))
        except ProtocolError as err:
            event_id = event.get("event_id")
            self._tell_client(err.to_event(event_id if isinstance(event_id, str) else None))

    def _follow_playback(self, type_: str, event: Event) -> None:
        """The upstream's answer as the transport will play it."""
        assert self._output is not None
        self._formats.follow(event)
        if type_ == "response.output_audio.delta" and isinstance(event.get("delta"), str):
            rid = event.get("response_id", "")
            # Counted, not decoded: the transport decodes what it plays.
            self._output.made(rid, self._formats.of(rid).internal_samples(
                base64_bytes(event["delta"])))
        elif type_ == "response.done":
            self._output.finished((event.get("response") or {}).get("id", ""))
        elif type_ == "input_audio_buffer.speech_started" and self._interrupts():
            self._output.clear()  # the upstream cancels its answer; the unplayed rest goes

    def _interrupts(self) -> bool:
        """Whether the user's voice cuts the answer (the turn detection's default)."""
        audio = self._session.get("audio")
        detection = ((audio or {}).get("input") or {}).get("turn_detection") \
            if isinstance(audio, dict) else None
        return not isinstance(detection, dict) or detection.get("interrupt_response") is not False

    # ------------------------------------------------------------------ upstream → client
    def upstream_event(self, event: Event) -> None:
        type_ = event.get("type")
        if type_ in ("session.created", "session.updated"):
            self._follow_input_format(event.get("session"))
        cause = (event.get("error") or {}).get("event_id") if type_ == "error" else None
        if cause in self._own_sent:
            # A problem with the relay's own event: still the client's to know (its
            # persona or restored history was refused), but not under an id it sent.
            event = {**event, "error": {**event["error"], "event_id": None}}
            if cause in self._own_update_ids and self._own_updates:
                self._own_updates -= 1  # no session.updated will answer that one
                self._announce(self._upstream_session)
        if type_ == "session.created":
            # The client hears of its session once the relay's settings are applied.
            self._upstream_session = event.get("session") or {}
            return
        if type_ == "session.updated" and self._own_updates:
            self._own_updates -= 1
            self._announce(event.get("session") or {})
            return
        if not self._announced:
            self._early.append(event)  # after session.created, as the protocol has it
            return
        if type_ == "conversation.created" and self._restored:
            return  # a fresh upstream's; the client's conversation goes on
        if type_ in _ITEM_ACKS and (event.get("item") or {}).get("id") in self._replayed:
            return
        if type_ == "session.updated" and isinstance(event.get("session"), dict):
            event = {**event, "session": self._client_view(event["session"])}
        if type_ == "response.created":
            self._active = copy.deepcopy(event.get("response") or {})
        elif type_ == "response.output_item.done":
            self._maybe_run_tool(event)
        elif type_ == "input_audio_buffer.speech_started":
            self._cancel_tools()  # the user speaks over a tool's turn: drop the tool
        self._tell_client(event)
        if self._output is not None:
            self._follow_playback(type_, event)
        if type_ == "response.done":
            self._response_done(event.get("response") or {})

    def _follow_input_format(self, session: Any) -> None:
        audio = session.get("audio") if isinstance(session, dict) else None
        fmt = ((audio or {}).get("input") or {}).get("format") or {}
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        if kind in FORMATS and kind != self._input_encoder.format.type:
            self._input_encoder = Encoder(FORMATS[kind])

    def _announce(self, session: dict[str, Any]) -> None:
        """The client's one session.created, once the first upstream session is set up."""
        if not self._announced:
            self._announced = True
            self._tell_client({"type": "session.created", "event_id": ids.event_id(),
                               "session": self._client_view(session)})
            self._redraw()
            early, self._early = self._early, []
            for event in early:
                self.upstream_event(event)

    def _redraw(self) -> None:
        """A resumed session's items, told again in order (added + done each) so the
        client can redraw the conversation; a new session has none yet."""
        previous = None
        for item in self.log.items():
            for type_ in ("conversation.item.added", "conversation.item.done"):
                self._tell_client({"type": type_, "event_id": ids.event_id(), "item": item,
                                   "previous_item_id": previous})
            previous = item["id"]

    def _maybe_run_tool(self, event: Event) -> None:
        item = event.get("item") or {}
        if item.get("type") != "function_call" or not self._serves(item.get("name", "")):
            return
        response_id = event.get("response_id", "")
        self._pending.setdefault(response_id, _Pending()).calls.add(item["call_id"])
        self._call_response[item["call_id"]] = response_id
        self._commands.append(RunServerTool(item["call_id"], item["name"],
                                            item.get("arguments") or "{}"))

    def _response_done(self, response: dict[str, Any]) -> None:
        self._active = None
        usage = response.get("usage")
        if isinstance(usage, dict):
            self.usage.add(Usage.from_wire(usage))
            self._commands.append(Metered(usage))
        pending = self._pending.get(response.get("id", ""))
        if pending is not None:
            pending.done = True
            self._follow_up(response.get("id", ""))
        if self._usage_cap is not None and self.usage.total_tokens >= self._usage_cap \
                and not self._ended:
            self._ended = True
            self._tell_client(_error(
                "session_usage_limit", f"This session has used its allowance of "
                f"{self._usage_cap} tokens ({self.usage.total_tokens} used). Goodbye; start a "
                "new session to go on.", "invalid_request_error"))
            self._commands.append(EndSession("usage limit reached", Ending.POLICY))

    # ------------------------------------------------------------------ tool results
    def tool_result(self, call_id: str, output: str) -> None:
        response_id = self._call_response.pop(call_id, None)
        if response_id is None or not self.up:
            return  # cancelled, or the upstream that asked is gone
        self._send_output(call_id, output)
        self._pending[response_id].calls.discard(call_id)
        self._follow_up(response_id)

    def _send_output(self, call_id: str, output: str) -> None:
        self._send_own({"type": "conversation.item.create", "item": {
            "type": "function_call_output", "call_id": call_id, "output": output}})

    def _follow_up(self, response_id: str) -> None:
        """Once a response is over and all its server tools answered: the spoken answer."""
        pending = self._pending.get(response_id)
        if pending is not None and pending.done and not pending.calls:
            del self._pending[response_id]
            self._send_own({"type": "response.create"})

    def _cancel_tools(self) -> None:
        for call_id in list(self._call_response):
            self._commands.append(CancelServerTool(call_id))
            self._call_response.pop(call_id)
            self._send_output(call_id, json.dumps(
                {"error": "Cancelled: the user interrupted before the tool finished."}))
        self._pending.clear()
