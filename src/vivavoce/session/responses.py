"""Response building: from a request to `response.done`, sans-I/O.

One response at a time: created (waiting for the transcripts its context needs),
generating (the brain's output becomes output items, content parts and deltas), then
finished (`response.done` with status and usage). Also the server tools a response
called, and each assistant item's audio segments (what truncation cuts).
"""

from __future__ import annotations

import base64
import enum
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vivavoce.audio.formats import FORMATS, Encoder, duration_ms
from vivavoce.protocol import client_events as ce
from vivavoce.protocol import ids
from vivavoce.protocol.errors import ProtocolError
from vivavoce.session import items as item_rules
from vivavoce.session.commands import Cancel, CancelTool, Respond, RunTool
from vivavoce.session.config import AudioFormat, SessionConfig, apply_update
from vivavoce.session.conversation import Conversation
from vivavoce.session.input_buffer import SAMPLES_PER_MS
from vivavoce.session.outbox import Outbox
from vivavoce.session.spans import SPANS_EVENT, Spans
from vivavoce.tools import offer
from vivavoce.transcript import heard_text
from vivavoce.types import Item, ResponseRequest, Usage

# Local inference has no quota; the event is still sent for clients that expect it.
RATE_LIMITS = [
    {"name": "requests", "limit": 1_000_000, "remaining": 1_000_000, "reset_seconds": 0.0},
    {"name": "tokens", "limit": 1_000_000_000, "remaining": 1_000_000_000, "reset_seconds": 0.0},
]
# (start sample, end sample, the text that audio starts to say) of an assistant item
Segments = list[tuple[int, int, str]]


class Phase(enum.Enum):
    WAITING = "waiting"  # created; the brain starts once its context's transcripts are in
    GENERATING = "generating"  # the brain is producing it
    FINISHED = "finished"  # `response.done` sent; later output for it is dropped


@dataclass
class Draft:
    """A response about to be created: the request for the brain and what the
    `response` object says of it."""

    request: ResponseRequest
    in_conversation: bool
    metadata: dict[str, Any] | None
    output_format: AudioFormat
    served: frozenset[str]  # the server tools offered (those the client did not shadow)


@dataclass
class _Message:
    """The assistant message currently being streamed in a response."""

    item: Item
    output_index: int
    encoder: Encoder | None  # None for a text answer
    text: str = ""
    samples: int = 0
    segments: Segments = field(default_factory=list)


@dataclass
class _Response:
    draft: Draft
    obj: dict[str, Any]
    waiting_for: set[str]
    spans: Spans
    phase: Phase = Phase.WAITING
    message: _Message | None = None
    usage: Usage = field(default_factory=Usage)
    server_calls: int = 0

    @property
    def id(self) -> str:
        return self.draft.request.response_id


class Responses:
    def __init__(self, out: Outbox, conversation: Conversation, *,
                 server_tools: list[dict[str, Any]], private_instructions: str,
                 on_finished: Callable[[str, int], None],
                 server_playback: bool = False) -> None:
        """`on_finished(response_id, played_ms)` is told how long the audio of each
        finished response lasts. `server_playback`: the transport plays the audio and
        reports it (`mark(..., "first_played")`)."""
        self._out = out
        self._conversation = conversation
        # Tools this server runs itself, offered to the model beside the client's.
        self._server_tools = {t["name"]: t for t in server_tools}
        self._private_instructions = private_instructions
        self._on_finished = on_finished
        self._current: _Response | None = None
        self._awaited: set[str] = set()  # items whose transcripts are on their way
        self._pending_tools: set[str] = set()  # call_ids of running server tools
        self._assistant_audio: dict[str, Segments] = {}
        # Moments of the turn in the making, handed to the response it starts.
        self.next_spans = Spans()
        self._server_playback = server_playback
        # Finished responses whose audio has not begun to play: their spans wait for it.
        self._unplayed: dict[str, tuple[_Response, str]] = {}

    # ------------------------------------------------------------------ state
    @property
    def active(self) -> bool:
        return self._current is not None

    @property
    def active_id(self) -> str | None:
        return self._current.id if self._current else None

    def streaming(self, item_id: str) -> bool:
        """Whether `item_id` is the message the current response is still writing."""
        response = self._current
        return bool(response and response.message and response.message.item["id"] == item_id)

    @property
    def tools_pending(self) -> bool:
        return bool(self._pending_tools)

    def _get(self, response_id: str) -> _Response | None:
        response = self._current
        return response if response is not None and response.id == response_id else None

    # ------------------------------------------------------------------ creating
    def draft(self, params: ce.ResponseParams, config: SessionConfig,
              decode_audio: Callable[[str, str], np.ndarray]) -> Draft:
        """The response `params` (a response.create `response` object) ask for."""
        # Per-response settings are checked exactly like a session update.
        overrides = params.overrides()
        cfg = apply_update(config, overrides, "response") if overrides else config
        items: list[Item] = []
        for index, given in enumerate(params.input or []):
            where = f"response.input[{index}]"
            if isinstance(given, ce.ItemReference):
                items.append(self._conversation.get(given.id, f"{where}.id"))
            else:
                items.append(item_rules.client_item(given, decode_audio, where)[0])
        max_tokens = cfg.max_output_tokens
        tools, served = offer([t.model_dump() for t in cfg.tools], self._server_tools)
        in_conversation = params.conversation == "auto" and params.input is None
        request = ResponseRequest(
            response_id=ids.response_id(), instructions=cfg.instructions,
            items=list(self._conversation) if in_conversation else items,
            private_instructions=self._private_instructions,
            tools=tools, tool_choice=cfg.tool_choice_wire(),
            modalities=cfg.output_modalities, voice=cfg.audio.output.voice,
            speed=cfg.audio.output.speed, temperature=cfg.temperature,
            max_output_tokens=None if max_tokens == "inf" else int(max_tokens))
        return Draft(request, in_conversation, params.metadata, cfg.audio.output.format, served)

    def start(self, draft: Draft) -> None:
        """Create the response; the brain starts once the transcripts it needs are in."""
        request = draft.request
        obj = {
            "id": request.response_id, "object": "realtime.response", "status": "in_progress",
            "status_details": None, "output": [],
            "conversation_id": self._conversation.id if draft.in_conversation else None,
            "output_modalities": request.modalities,
            "max_output_tokens": request.max_output_tokens or "inf",
            "audio": {"output": {"format": draft.output_format.wire(), "voice": request.voice}},
            "usage": None, "metadata": draft.metadata,
        }
        waiting = {it["id"] for it in request.items if it.get("id") in self._awaited}
        self._current = _Response(draft, obj, waiting, self.next_spans)
        self.next_spans = Spans()
        self._current.spans.mark("response_created", self._out.now)
        self._out.emit("response.created", response=dict(obj, output=[]))
        self._generate_when_ready()

    def awaiting_transcript(self, item_id: str) -> None:
        self._awaited.add(item_id)

    def transcript_arrived(self, item_id: str, failure: str | None = None) -> None:
        """An awaited transcript came: the response may start now. Or it failed: then
        the response waiting for it fails too (the model cannot answer what it did not
        hear)."""
        self._awaited.discard(item_id)
        response = self._current
        if response is not None and item_id in response.waiting_for:
            response.spans.mark("stt_done", self._out.now)
            if failure is not None and response.phase is Phase.WAITING:
                self._finish(response, "failed", _failed(
                    "transcription_failed", f"The user's audio could not be transcribed: "
                    f"{failure}"))
        else:
            self.next_spans.mark("stt_done", self._out.now)

    def _generate_when_ready(self) -> None:
        response = self._current
        if response is None or response.phase is not Phase.WAITING:
            return
        response.waiting_for &= self._awaited
        if response.waiting_for:
            return
        response.phase = Phase.GENERATING
        response.spans.mark("llm_start", self._out.now)
        # Transcripts may have arrived since the context was taken: use the items now.
        if response.draft.in_conversation:
            response.draft.request.items = list(self._conversation)
        self._out.ask(Respond(response.draft.request))

    def transcripts_settled(self) -> None:
        """Call after the items' transcripts were updated: start a response waiting on them."""
        self._generate_when_ready()

    # ------------------------------------------------------------------ brain output
    def _open_message(self, response: _Response) -> _Message:
        if response.message is not None:
            return response.message
        audio = response.draft.request.modalities == ["audio"]
        item = item_rules.assistant_item(ids.item_id(), audio)
        output_index = len(response.obj["output"])
        response.obj["output"].append(item)
        message = _Message(item, output_index,
                           Encoder(FORMATS[response.obj["audio"]["output"]["format"]["type"]])
                           if audio else None)
        response.message = message
        self._add_output_item(response, item)
        part = {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}
        self._out.emit("response.content_part.added", response_id=response.id,
                       item_id=item["id"], output_index=output_index, content_index=0, part=part)
        if audio:
            self._assistant_audio[item["id"]] = message.segments
        return message

    def _add_output_item(self, response: _Response, item: Item) -> None:
        previous = None
        if response.draft.in_conversation:
            previous = self._conversation.insert(item)
        output_index = response.obj["output"].index(item)
        self._out.emit("response.output_item.added", response_id=response.id,
                       output_index=output_index, item=item_rules.wire(item))
        if response.draft.in_conversation:
            self._out.emit("conversation.item.added", item=item_rules.wire(item),
                           previous_item_id=previous)

    def audio(self, response_id: str, pcm: np.ndarray, text: str) -> None:
        response = self._get(response_id)
        if response is None:
            return
        message = self._open_message(response)
        response.spans.mark("first_audio", self._out.now)
        response.spans.set("last_audio", self._out.now)
        common = {"response_id": response_id, "item_id": message.item["id"],
                  "output_index": message.output_index, "content_index": 0}
        if text:
            message.text += text
            message.segments.append((message.samples, message.samples + len(pcm), text))
            self._out.emit("response.output_audio_transcript.delta", delta=text, **common)
        elif message.segments:
            start, _, seg_text = message.segments[-1]
            message.segments[-1] = (start, message.samples + len(pcm), seg_text)
        message.samples += len(pcm)
        assert message.encoder is not None
        data = message.encoder.encode(pcm)
        if data:
            self._out.emit("response.output_audio.delta", delta=base64.b64encode(data).decode(),
                           **common)

    def mark(self, response_id: str, name: str, at: float) -> None:
        response = self._get(response_id)
        if response is None and response_id in self._unplayed:
            response = self._unplayed[response_id][0]
        if response is not None:
            response.spans.mark(name, at)
        if name == "first_played" and response_id in self._unplayed:
            self._send_spans(*self._unplayed.pop(response_id))

    def never_played(self, response_id: str) -> None:
        """The response's audio was cleared before a frame of it played."""
        if response_id in self._unplayed:
            self._send_spans(*self._unplayed.pop(response_id))

    def text(self, response_id: str, delta: str) -> None:
        response = self._get(response_id)
        if response is None or not delta:
            return
        message = self._open_message(response)
        message.text += delta
        self._out.emit("response.output_text.delta", response_id=response_id,
                       item_id=message.item["id"], output_index=message.output_index,
                       content_index=0, delta=delta)

    def tool_call(self, response_id: str, name: str, arguments: str, call_id: str) -> None:
        response = self._get(response_id)
        if response is None:
            return
        self._close_message(response, "completed")
        item = item_rules.function_call_item(ids.item_id(), call_id or ids.call_id(), name,
                                             arguments)
        response.obj["output"].append(item)
        self._add_output_item(response, item)
        output_index = response.obj["output"].index(item)
        common = {"response_id": response_id, "item_id": item["id"],
                  "output_index": output_index, "call_id": item["call_id"]}
        self._out.emit("response.function_call_arguments.delta", delta=arguments, **common)
        self._out.emit("response.function_call_arguments.done", arguments=arguments, name=name,
                       **common)
        item["status"] = "completed"
        self._finish_output_item(response, item)
        if name in response.draft.served and response.draft.in_conversation:
            self._pending_tools.add(item["call_id"])
            response.server_calls += 1
            self._out.ask(RunTool(item["call_id"], name, arguments))

    def finish(self, response_id: str, error: str | None, usage: Usage | None) -> bool:
        """The brain is done with a response. True when it called server tools that have
        all answered already: the answer to them is due now."""
        response = self._get(response_id)
        if response is None:
            return False
        if usage is not None:
            response.usage = usage
        if error is not None:
            self._finish(response, "failed", _failed("engine_error", error))
            return False
        self._finish(response, "completed", None)
        if not response.server_calls:
            return False
        # The answer to the tools belongs to the same user turn.
        self.next_spans = response.spans.turn()
        return not self._pending_tools

    def cancel(self, reason: str) -> None:
        response = self._current
        if response is None:
            return
        if response.phase is Phase.GENERATING:
            self._out.ask(Cancel(response.id))
        self._finish(response, "cancelled", {"type": "cancelled", "reason": reason})

    def barge_in(self, speech_start: float) -> None:
        """The user spoke over the answer: cancel it, timing how long it took."""
        response = self._current
        if response is None:
            return
        response.spans.mark("barge_speech_start", speech_start)
        response.spans.mark("barge_speech_started", self._out.now)
        self.cancel("turn_detected")

    def _close_message(self, response: _Response, status: str) -> None:
        message = response.message
        if message is None:
            return
        response.message = None
        common = {"response_id": response.id, "item_id": message.item["id"],
                  "output_index": message.output_index, "content_index": 0}
        if message.encoder is not None:
            self._out.emit("response.output_audio.done", **common)
            self._out.emit("response.output_audio_transcript.done", transcript=message.text,
                           **common)
            part = {"type": "audio", "transcript": message.text}
        else:
            self._out.emit("response.output_text.done", text=message.text, **common)
            part = {"type": "text", "text": message.text}
        self._out.emit("response.content_part.done", part=part, **common)
        item_rules.set_assistant_transcript(message.item, message.text)
        message.item["status"] = status
        self._finish_output_item(response, message.item)

    def _finish_output_item(self, response: _Response, item: Item) -> None:
        self._out.emit("response.output_item.done", response_id=response.id,
                       output_index=response.obj["output"].index(item),
                       item=item_rules.wire(item))
        if response.draft.in_conversation:
            self._out.emit("conversation.item.done", item=item_rules.wire(item),
                           previous_item_id=self._conversation.previous_id(item["id"]))

    def _finish(self, response: _Response, status: str, details: dict[str, Any] | None) -> None:
        self._close_message(response, "completed" if status == "completed" else "incomplete")
        response.phase = Phase.FINISHED
        self._current = None
        obj = dict(response.obj, status=status, status_details=details,
                   output=[item_rules.wire(i) for i in response.obj["output"]],
                   usage=response.usage.wire())
        self._out.emit("response.done", response=obj)
        self._out.emit("rate_limits.updated", rate_limits=RATE_LIMITS)
        if status != "completed":
            # A stopped turn stops everything it set going, earlier tool calls included.
            self.cancel_tools()
        response.spans.mark("done", self._out.now)
        if self._server_playback and "first_audio" in response.spans.marks \
                and "first_played" not in response.spans.marks:
            # A short answer can be made before its first frame plays: its spans go out
            # once that is known, so they hold the moment the caller began to hear it.
            self._unplayed[response.id] = (response, status)
        else:
            self._send_spans(response, status)
        self._on_finished(response.id, sum(duration_ms(s[1] - s[0])
                                           for item in response.obj["output"]
                                           for s in self._assistant_audio.get(item["id"], [])))

    def _send_spans(self, response: _Response, status: str) -> None:
        # An extension event: the runner forwards it only to clients that asked.
        self._out.emit(SPANS_EVENT, response_id=response.id, status=status,
                       spans=response.spans.relative())

    # ------------------------------------------------------------------ server tools
    def tool_result(self, call_id: str, output: str) -> bool:
        """A server tool's output. True when it was the last one and no response is
        running: the answer to the tools is due now."""
        if call_id not in self._pending_tools:
            return False  # cancelled meanwhile
        self._pending_tools.discard(call_id)
        self._add_tool_output(call_id, output)
        (self._current.spans if self._current else self.next_spans).mark("tool_done",
                                                                          self._out.now)
        return not self._pending_tools and self._current is None

    def _add_tool_output(self, call_id: str, output: str) -> None:
        item = {"id": ids.item_id(), "object": "realtime.item", "type": "function_call_output",
                "status": "completed", "call_id": call_id, "output": output}
        previous = self._conversation.insert(item)
        self._out.emit("conversation.item.added", item=item_rules.wire(item),
                       previous_item_id=previous)
        self._out.emit("conversation.item.done", item=item_rules.wire(item),
                       previous_item_id=previous)

    def cancel_tools(self) -> None:
        """Stop running server tools; each call gets an honest output."""
        for call_id in sorted(self._pending_tools):
            self._pending_tools.discard(call_id)
            self._out.ask(CancelTool(call_id))
            self._add_tool_output(call_id, json.dumps(
                {"error": "Cancelled: the user interrupted before the result came."}))

    # ------------------------------------------------------------------ assistant audio
    def audio_ms(self, item_id: str) -> int:
        """How long an assistant item's audio is."""
        segments = self._assistant_audio.get(item_id, [])
        return duration_ms(segments[-1][1]) if segments else 0

    def truncate(self, item: Item, audio_end_ms: int) -> None:
        """Keep only the first `audio_end_ms` of an assistant item, and the words said in it."""
        segments = self._assistant_audio.get(item["id"], [])
        total_ms = self.audio_ms(item["id"])
        if audio_end_ms > total_ms:
            raise ProtocolError("invalid_value",
                                f"audio_end_ms {audio_end_ms} is past the end of the item's "
                                f"audio ({total_ms} ms).", "audio_end_ms")
        cut = audio_end_ms * SAMPLES_PER_MS
        item_rules.set_assistant_transcript(item, heard_text(segments, cut))
        self._assistant_audio[item["id"]] = [(s, min(e, cut), t) for s, e, t in segments
                                             if s < cut]

    def forget(self, item_id: str) -> None:
        self._assistant_audio.pop(item_id, None)


def _failed(code: str, message: str) -> dict[str, Any]:
    """The status_details of a response that failed on the server's side."""
    return {"type": "failed", "error": {"type": "server_error", "code": code, "message": message}}
