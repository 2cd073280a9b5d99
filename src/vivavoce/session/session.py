"""One Realtime session as a state machine, in the spirit of h11.

Inputs: raw client events (`receive`), the brain's output for a response
(`response_audio`, `response_text`, `response_tool_call`, `response_finish`),
transcripts (`transcription_done`/`failed`). Outputs: GA server events and
commands for the runner (`drain`). No sockets, no models, no clock of its own:
the only engine it touches is the VAD stream it is given, a pure function of
the audio.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vivavoce.audio.formats import FORMATS, INTERNAL_RATE, Decoder, Encoder, duration_ms
from vivavoce.audio.resample import StreamResampler, int16_to_float
from vivavoce.engines.base import VAD, Usage, VADStream
from vivavoce.protocol import ids
from vivavoce.protocol.errors import ProtocolError, parse_event
from vivavoce.session import items as item_rules
from vivavoce.session.commands import (
    Cancel,
    CancelTool,
    Command,
    Prefill,
    Prepare,
    Respond,
    ResponseRequest,
    RunTool,
    Transcribe,
)
from vivavoce.session.config import AudioFormat, SessionConfig, apply_update
from vivavoce.session.conversation import Conversation, Item
from vivavoce.session.end_of_turn import sounds_finished
from vivavoce.session.input_buffer import SAMPLES_PER_MS, InputAudioBuffer
from vivavoce.session.spans import SPANS_EVENT, Spans
from vivavoce.session.speculation import PARTIAL_EVERY_MS, Speculation
from vivavoce.session.transcript import heard_text
from vivavoce.session.turn_detection import (
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
    SpeechStopped,
    TurnDetector,
)

# Like the hosted API: one append may carry at most 15 MiB of base64 audio.
MAX_APPEND_BYTES = 15 * 1024 * 1024
MIN_COMMIT_MS = 100
# Local inference has no quota; the event is still sent for clients that expect it.
RATE_LIMITS = [
    {"name": "requests", "limit": 1_000_000, "remaining": 1_000_000, "reset_seconds": 0.0},
    {"name": "tokens", "limit": 1_000_000_000, "remaining": 1_000_000_000, "reset_seconds": 0.0},
]


@dataclass
class _Message:
    """The assistant message currently being streamed in a response."""

    item: Item
    output_index: int
    encoder: Encoder | None
    text: str = ""
    samples: int = 0
    segments: list[tuple[int, int, str]] = field(default_factory=list)


@dataclass
class _Response:
    id: str
    obj: dict[str, Any]
    request: ResponseRequest
    in_conversation: bool
    waiting_for: set[str]
    started: bool = False
    message: _Message | None = None
    usage: Usage = field(default_factory=Usage)
    spans: Spans = field(default_factory=Spans)
    server_calls: int = 0
    # The server tools offered in this response: those the client did not shadow with
    # a tool of its own name (the client answers calls to its own tools).
    server_tools: frozenset[str] = frozenset()


class Session:
    def __init__(self, *, session_id: str, model: str, vad: VAD | None,
                 config: SessionConfig | None = None, voices: list[str] | None = None,
                 server_tools: list[dict[str, Any]] | None = None,
                 private_instructions: str = "", speculative_stt: bool = True) -> None:
        self.config = (config or SessionConfig()).model_copy(update={"id": session_id,
                                                                      "model": model})
        self.conversation = Conversation(ids.new_id("conv_"))
        self.voices = voices or []
        # Tools this server runs itself, offered to the model beside the client's.
        self.server_tools = {t["name"]: t for t in server_tools or []}
        self.private_instructions = private_instructions
        self._pending_tools: set[str] = set()  # call_ids of running server tools
        self._vad = vad
        self._vad_stream: VADStream | None = vad.stream() if vad else None
        self._events: list[dict[str, Any]] = []
        self._commands: list[Command] = []
        self._buffer = InputAudioBuffer()
        self._decoder = Decoder(FORMATS[self.config.audio.input.format.type])
        self._to_vad = StreamResampler(INTERNAL_RATE, 16000)
        self._vad_pending = np.zeros(0, np.float32)
        self._vad_samples = 0  # 16 kHz samples fed to the VAD so far
        self._turns = self._new_turn_detector()
        self._speech_item_id: str | None = None
        self._speech_start_ms = 0
        # Idle timeout counts from when the last answer finished playing (as hosted).
        self._idle_anchor_ms: int | None = None
        self._response: _Response | None = None
        self._pending_transcripts: set[str] = set()
        self.speculative_stt = speculative_stt
        # The latest pause's speculation, and those adopted by items but not yet done.
        self._speculations: dict[str, Speculation] = {}
        self._pause: Speculation | None = None
        # The response started at that pause, whose output the driver holds until the
        # turn ends: adopted if the turn asks for exactly it, else cancelled.
        self._ahead: ResponseRequest | None = None
        self._ahead_at = 0.0
        # Transcripts of the turn so far, taken while the user speaks, to prefill with.
        self._partial: str | None = None  # the one in flight
        self._partial_ms = 0  # the timeline up to which the last one heard
        self._item_audio: dict[str, np.ndarray] = {}
        # Moments of the turn in the making, handed to the response it starts.
        self._turn_spans = Spans()
        self._assistant_audio: dict[str, list[tuple[int, int, str]]] = {}
        self.now = 0.0
        self._emit("session.created", session=self.config.wire())
        self._emit("conversation.created",
                   conversation={"id": self.conversation.id, "object": "realtime.conversation"})

    # ------------------------------------------------------------------ outputs
    def drain(self) -> tuple[list[dict[str, Any]], list[Command]]:
        events, commands = self._events, self._commands
        self._events, self._commands = [], []
        return events, commands

    def _emit(self, type_: str, **fields: Any) -> dict[str, Any]:
        event = {"type": type_, "event_id": ids.event_id(), **fields}
        self._events.append(event)
        return event

    def report(self, err: ProtocolError, client_event_id: str | None = None) -> None:
        """Send `err` as an `error` event; the session carries on."""
        self._emit("error", error=err.to_error(client_event_id))

    @property
    def active_response_id(self) -> str | None:
        return self._response.id if self._response else None

    # ------------------------------------------------------------------- inputs
    def receive(self, raw: str | bytes | dict[str, Any], now: float = 0.0) -> None:
        """Handle one client event; any problem becomes an `error` event."""
        self.now = now
        client_event_id = None
        try:
            event = raw if isinstance(raw, dict) else parse_event(raw)
            client_event_id = event.get("event_id") if isinstance(event.get("event_id"), str) \
                else None
            if "event_id" in event and event["event_id"] is not None and client_event_id is None:
                raise ProtocolError("invalid_type", "'event_id' must be a string.", "event_id")
            type_ = event.get("type")
            if not isinstance(type_, str):
                raise ProtocolError("missing_required_parameter",
                                    "Missing required parameter: 'type'.", "type")
            handler = self._handlers().get(type_)
            if handler is None:
                raise ProtocolError("invalid_value",
                                    f"Unknown event type '{type_}'. Supported types: "
                                    + ", ".join(sorted(self._handlers())) + ".", "type")
            handler(event)
        except ProtocolError as err:
            self.report(err, client_event_id)

    def _handlers(self):
        return {
            "session.update": self._on_session_update,
            "input_audio_buffer.append": self._on_append,
            "input_audio_buffer.commit": self._on_commit,
            "input_audio_buffer.clear": self._on_clear,
            "conversation.item.create": self._on_item_create,
            "conversation.item.retrieve": self._on_item_retrieve,
            "conversation.item.truncate": self._on_item_truncate,
            "conversation.item.delete": self._on_item_delete,
            "response.create": self._on_response_create,
            "response.cancel": self._on_response_cancel,
            "output_audio_buffer.clear": self._on_output_clear,
        }

    # ------------------------------------------------------------ session.update
    def _on_session_update(self, event: dict[str, Any]) -> None:
        if "session" not in event:
            raise ProtocolError("missing_required_parameter",
                                "Missing required parameter: 'session'.", "session")
        old = self.config
        new = apply_update(old, event["session"])
        new = new.model_copy(update={"id": old.id, "model": old.model})
        self.config = new
        if new.audio.input.format != old.audio.input.format:
            self._decoder = Decoder(FORMATS[new.audio.input.format.type])
        if new.audio.input.turn_detection != old.audio.input.turn_detection:
            self._turns = self._new_turn_detector()
            self._idle_anchor_ms = None
        self._emit("session.updated", session=new.wire())
        if (new.instructions, new.tools) != (old.instructions, old.tools):
            # A new prompt prefix: read it now, while the user is still to speak.
            request = self._response_request({})[0]
            request.items = list(self.conversation)
            self._commands.append(Prefill(request))

    def _new_turn_detector(self) -> TurnDetector | None:
        turn = self.config.audio.input.turn_detection
        if turn is None or self._vad is None:
            return None
        return TurnDetector(turn.threshold, turn.prefix_padding_ms, turn.silence_ms())

    # --------------------------------------------------------------- input audio
    def _on_append(self, event: dict[str, Any]) -> None:
        audio = event.get("audio")
        if not isinstance(audio, str):
            raise ProtocolError("missing_required_parameter" if audio is None else "invalid_type",
                                "'audio' must be a base64-encoded string.", "audio")
        pcm = self._decode_audio(audio, "audio")
        self._buffer.append(pcm)
        self._run_turn_detection(pcm)

    def _decode_audio(self, audio: str, param: str) -> np.ndarray:
        if len(audio) > MAX_APPEND_BYTES:
            raise ProtocolError("audio_too_large",
                                f"Audio of {len(audio)} bytes exceeds the limit of "
                                f"{MAX_APPEND_BYTES} bytes (15 MiB) per event.", param)
        try:
            data = base64.b64decode(audio, validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("invalid_base64", "The audio is not valid base64.",
                                param) from None
        return self._decoder.decode(data)

    def _run_turn_detection(self, pcm: np.ndarray) -> None:
        if self._turns is None or self._vad_stream is None or self._vad is None:
            return
        frame = self._vad.frame_samples
        samples = np.concatenate([self._vad_pending,
                                  int16_to_float(self._to_vad.process(pcm))])
        whole = len(samples) // frame * frame
        self._vad_pending = samples[whole:]
        for start in range(0, whole, frame):
            start_ms = self._vad_samples * 1000 // 16000
            self._vad_samples += frame
            end_ms = self._vad_samples * 1000 // 16000
            change = self._turns.feed(self._vad_stream.probability(samples[start:start + frame]),
                                      start_ms, end_ms)
            if isinstance(change, SpeechStarted):
                self._speech_started(change)
            elif isinstance(change, SpeechPaused):
                self._speculate(change)
            elif isinstance(change, SpeechResumed):
                self._voice_resumed()
            elif isinstance(change, SpeechStopped):
                self._speech_stopped(change)
        self._transcribe_partial()
        turn = self.config.audio.input.turn_detection
        if not self._turns.speaking and turn is not None:
            self._buffer.keep_last(turn.prefix_padding_ms + 2 * frame * 1000 // 16000)
            self._check_idle(turn.idle_timeout_ms)

    def _speech_started(self, change: SpeechStarted) -> None:
        turn = self.config.audio.input.turn_detection
        self._speech_item_id = ids.item_id()
        self._speech_start_ms = change.audio_start_ms
        self._partial_ms = change.voiced_ms
        self._idle_anchor_ms = None
        self._drop_ahead()
        if self._response and turn is not None and turn.interrupt_response:
            spans = self._response.spans
            spans.mark("barge_speech_start",
                       self.now - (change.detected_ms - change.voiced_ms) / 1000)
            spans.mark("barge_speech_started", self.now)
            self._cancel_response("turn_detected")
        if turn is not None and turn.interrupt_response:
            self._cancel_tools()
        self._emit("input_audio_buffer.speech_started", audio_start_ms=change.audio_start_ms,
                   item_id=self._speech_item_id)

    def _speculate(self, change: SpeechPaused) -> None:
        if not self.speculative_stt:
            return
        if self._pause is not None:  # the voice came back since: that one is stale
            self._speculations.pop(self._pause.id, None)
        self._pause = Speculation(ids.new_id("spec_"), change.silence_start_ms, self.now)
        self._speculations[self._pause.id] = self._pause
        audio = self._buffer.peek(self._speech_start_ms, self._buffer.timeline_ms)
        self._commands.append(self._transcribe_command(self._pause.id, audio))

    def _transcribe_partial(self) -> None:
        """Every so often while the user speaks, transcribe what they have said so far."""
        turn = self.config.audio.input.turn_detection
        if not self.speculative_stt or self._turns is None or not self._turns.speaking \
                or turn is None or not turn.create_response or self._response is not None \
                or self._partial is not None or not self._turns.voiced \
                or self._buffer.timeline_ms - self._partial_ms < PARTIAL_EVERY_MS:
            return
        self._partial = ids.new_id("part_")
        self._partial_ms = self._buffer.timeline_ms
        audio = self._buffer.peek(self._speech_start_ms, self._buffer.timeline_ms)
        self._commands.append(self._transcribe_command(self._partial, audio))

    def _partial_result(self, partial_id: str, text: str | None) -> bool:
        """Route an STT result for a partial transcript; False if it is not one."""
        if not partial_id.startswith("part_"):
            return False
        if partial_id == self._partial:
            self._partial = None
            if text and self._turns is not None and self._turns.speaking \
                    and self._response is None:
                # The LLM reads the turn so far now; at the pause only the rest is new.
                self._commands.append(Prefill(self._request_if_said(text)))
        return True

    def _voice_resumed(self) -> None:
        """The pause was not the end of the turn: what was started at it is stale."""
        if self._pause is not None:
            self._speculations.pop(self._pause.id, None)
            self._pause = None
        self._drop_ahead()

    def _speech_stopped(self, change: SpeechStopped) -> None:
        pause, self._pause = self._pause, None
        if pause is not None and pause.silence_start_ms != change.audio_end_ms:
            self._speculations.pop(pause.id, None)  # taken before the voice resumed
            pause = None
        item_id = self._speech_item_id or ids.item_id()
        self._speech_item_id = None
        self._emit("input_audio_buffer.speech_stopped", audio_end_ms=change.audio_end_ms,
                   item_id=item_id)
        audio = self._buffer.take(self._speech_start_ms, change.detected_ms)
        self._turn_spans = Spans()
        # The silence window was heard in audio time; the voice ended that long ago.
        self._turn_spans.mark("speech_end",
                              self.now - (change.detected_ms - change.audio_end_ms) / 1000)
        self._turn_spans.mark("speech_stopped", self.now)
        if pause is not None:
            self._turn_spans.mark("stt_start", pause.started_at)
            if pause.done_at is not None:
                self._turn_spans.mark("stt_done", pause.done_at)
        self._commit_audio(item_id, audio, pause)
        turn = self.config.audio.input.turn_detection
        if turn is not None and turn.create_response and self._response is None:
            self._start_response({}, None)

    def _check_idle(self, idle_timeout_ms: int | None) -> None:
        if idle_timeout_ms is None or self._response is not None or self._idle_anchor_ms is None:
            return
        now_ms = self._buffer.timeline_ms
        if now_ms - self._idle_anchor_ms < idle_timeout_ms:
            return
        item_id = ids.item_id()
        self._emit("input_audio_buffer.timeout_triggered", audio_start_ms=self._idle_anchor_ms,
                   audio_end_ms=now_ms, item_id=item_id)
        self._idle_anchor_ms = None
        self._buffer.clear()
        self._commit_audio(item_id, np.zeros(0, np.int16))
        self._start_response({}, None)

    def _on_commit(self, event: dict[str, Any]) -> None:
        if self._buffer.duration_ms < MIN_COMMIT_MS:
            raise ProtocolError(
                "input_audio_buffer_commit_empty",
                f"Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {self._buffer.duration_ms}ms "
                "of audio.")
        item_id = self._speech_item_id or ids.item_id()
        self._speech_item_id = None
        if self._turns is not None:
            self._turns.reset()
        self._turn_spans = Spans()
        self._turn_spans.mark("commit", self.now)
        self._commit_audio(item_id, self._buffer.take())

    def _commit_audio(self, item_id: str, audio: np.ndarray,
                      speculation: Speculation | None = None) -> None:
        item = item_rules.user_audio_item(item_id)
        previous = self.conversation.insert(item)
        self._item_audio[item_id] = audio
        self._emit("input_audio_buffer.committed", item_id=item_id, previous_item_id=previous)
        self._emit("conversation.item.added", item=item_rules.wire(item),
                   previous_item_id=previous)
        self._emit("conversation.item.done", item=item_rules.wire(item),
                   previous_item_id=previous)
        if speculation is None:
            self._transcribe(item_id, audio)
            return
        # The words were transcribed at the pause; only silence came after.
        self._pending_transcripts.add(item_id)
        speculation.item_id = item_id
        if speculation.finished:
            self._deliver(speculation)

    def _transcribe(self, item_id: str, audio: np.ndarray) -> None:
        self._turn_spans.mark("stt_start", self.now)
        self._pending_transcripts.add(item_id)
        self._commands.append(self._transcribe_command(item_id, audio))

    def _transcribe_command(self, item_id: str, audio: np.ndarray) -> Transcribe:
        transcription = self.config.audio.input.transcription
        return Transcribe(item_id, audio,
                          language=transcription.language if transcription else None,
                          prompt=transcription.prompt if transcription else None)

    def _deliver(self, speculation: Speculation) -> None:
        """Hand a finished speculation adopted by an item over as that item's transcript."""
        del self._speculations[speculation.id]
        assert speculation.item_id is not None
        if speculation.text is not None:
            self.transcription_done(speculation.item_id, speculation.text, speculation.seconds,
                                    self.now)
        else:
            self.transcription_failed(speculation.item_id, speculation.failure or "", self.now)

    def _speculation_result(self, spec_id: str, text: str | None, failure: str | None,
                            seconds: float) -> bool:
        """Route an STT result for a speculation; False if `spec_id` is an item."""
        if not spec_id.startswith("spec_"):
            return False
        speculation = self._speculations.get(spec_id)
        if speculation is not None:  # else stale: the user kept talking
            speculation.text, speculation.failure, speculation.seconds = text, failure, seconds
            speculation.done_at = self.now
            if speculation.item_id is not None:
                self._deliver(speculation)
            elif text and not self._end_turn_early(speculation, text):
                self._respond_ahead(text)
        return True

    def _end_turn_early(self, speculation: Speculation, text: str) -> bool:
        """semantic_vad: end the turn at this pause if what was said sounds finished."""
        turn = self.config.audio.input.turn_detection
        if turn is None or turn.type != "semantic_vad" or turn.eagerness == "low" \
                or self._pause is not speculation or self._turns is None \
                or not self._turns.speaking or not sounds_finished(text):
            return False
        self._turns.reset()
        self._speech_stopped(SpeechStopped(audio_end_ms=speculation.silence_start_ms,
                                           detected_ms=self._vad_samples * 1000 // 16000))
        return True

    def _respond_ahead(self, text: str) -> None:
        """The user paused and this is what they said: if the turn ends here, this is
        the response it gets, so the brain may start on it now (its output is held)."""
        self._drop_ahead()
        turn = self.config.audio.input.turn_detection
        if turn is None or not turn.create_response or self._response is not None:
            return
        request = self._request_if_said(text)
        self._ahead, self._ahead_at = request, self.now
        self._commands.append(Prepare(request))

    def _request_if_said(self, text: str) -> ResponseRequest:
        """The response the turn would get if the user's words were `text`."""
        request = self._response_request({})[0]
        said = item_rules.user_audio_item(ids.item_id())
        item_rules.set_user_transcript(said, text)
        request.items = [*self.conversation, said]
        return request

    def _drop_ahead(self) -> None:
        if self._ahead is not None:
            self._commands.append(Cancel(self._ahead.response_id))
            self._ahead = None

    def _on_clear(self, event: dict[str, Any]) -> None:
        self._buffer.clear()
        if self._turns is not None:
            self._turns.reset()
        self._speech_item_id = None
        self._emit("input_audio_buffer.cleared")

    # ------------------------------------------------------------- transcripts
    def transcription_done(self, item_id: str, text: str, audio_seconds: float,
                           now: float = 0.0) -> None:
        self.now = now
        if self._speculation_result(item_id, text, None, audio_seconds) \
                or self._partial_result(item_id, text):
            return
        self._pending_transcripts.discard(item_id)
        self._stt_done(item_id)
        if self.conversation.has(item_id):
            item = self.conversation.get(item_id)
            item_rules.set_user_transcript(item, text)
            if self.config.audio.input.transcription is not None:
                index = item_rules.audio_content_index(item)
                self._emit("conversation.item.input_audio_transcription.delta",
                           item_id=item_id, content_index=index, delta=text)
                self._emit("conversation.item.input_audio_transcription.completed",
                           item_id=item_id, content_index=index, transcript=text,
                           usage={"type": "duration", "seconds": round(audio_seconds, 3)})
        self._start_waiting_response()

    def _stt_done(self, item_id: str) -> None:
        response = self._response
        if response is not None and item_id in response.waiting_for:
            response.spans.mark("stt_done", self.now)
        else:
            self._turn_spans.mark("stt_done", self.now)

    def transcription_failed(self, item_id: str, message: str, now: float = 0.0) -> None:
        self.now = now
        if self._speculation_result(item_id, None, message, 0.0) \
                or self._partial_result(item_id, None):
            return
        self._pending_transcripts.discard(item_id)
        self._stt_done(item_id)
        if self.conversation.has(item_id):
            item = self.conversation.get(item_id)
            item_rules.set_user_transcript(item, "")
            if self.config.audio.input.transcription is not None:
                self._emit("conversation.item.input_audio_transcription.failed",
                           item_id=item_id, content_index=item_rules.audio_content_index(item),
                           error={"type": "transcription_error", "code": "stt_failed",
                                  "message": message, "param": None})
        self._start_waiting_response()

    # ------------------------------------------------------------------- items
    def _on_item_create(self, event: dict[str, Any]) -> None:
        previous_item_id = event.get("previous_item_id")
        if previous_item_id is not None and not isinstance(previous_item_id, str):
            raise ProtocolError("invalid_type", "'previous_item_id' must be a string.",
                                "previous_item_id")
        item, audio = item_rules.parse_client_item(event.get("item"), self._decode_audio)
        previous = self.conversation.insert(item, previous_item_id)
        self._emit("conversation.item.added", item=item_rules.wire(item),
                   previous_item_id=previous)
        self._emit("conversation.item.done", item=item_rules.wire(item),
                   previous_item_id=previous)
        if audio is not None:
            self._item_audio[item["id"]] = audio
            self._transcribe(item["id"], audio)

    def _on_item_retrieve(self, event: dict[str, Any]) -> None:
        item = self.conversation.get(self._item_id_param(event))
        wire = item_rules.wire(item)
        audio = self._item_audio.get(item["id"])
        if audio is not None:
            index = item_rules.audio_content_index(item)
            encoded = FORMATS[self.config.audio.input.format.type]
            data = Encoder(encoded).encode(audio)
            wire["content"][index]["audio"] = base64.b64encode(data).decode()
        self._emit("conversation.item.retrieved", item=wire)

    def _on_item_delete(self, event: dict[str, Any]) -> None:
        item_id = self._item_id_param(event)
        if self._response and self._response.message and \
                self._response.message.item["id"] == item_id:
            raise ProtocolError("item_in_progress",
                                "Cannot delete an item while its response is in progress; "
                                "cancel the response first.", "item_id")
        self.conversation.delete(item_id)
        self._item_audio.pop(item_id, None)
        self._assistant_audio.pop(item_id, None)
        self._emit("conversation.item.deleted", item_id=item_id)

    def _on_item_truncate(self, event: dict[str, Any]) -> None:
        item_id = self._item_id_param(event)
        item = self.conversation.get(item_id)
        content_index = event.get("content_index", 0)
        audio_end_ms = event.get("audio_end_ms")
        if not isinstance(content_index, int) or isinstance(content_index, bool):
            raise ProtocolError("invalid_type", "'content_index' must be an integer.",
                                "content_index")
        if not isinstance(audio_end_ms, int) or isinstance(audio_end_ms, bool) \
                or audio_end_ms < 0:
            raise ProtocolError("invalid_value",
                                "'audio_end_ms' must be a non-negative integer.", "audio_end_ms")
        if item.get("role") != "assistant" or item_rules.audio_content_index(item) is None:
            raise ProtocolError("invalid_value",
                                "Only assistant messages with audio can be truncated.", "item_id")
        if content_index != item_rules.audio_content_index(item):
            raise ProtocolError("invalid_value",
                                f"Content index {content_index} is not the item's audio part.",
                                "content_index")
        if self._response and self._response.message and \
                self._response.message.item["id"] == item_id:
            # The user heard only part of an answer still being made: stop making it.
            self._cancel_response("client_cancelled")
        segments = self._assistant_audio.get(item_id, [])
        total_ms = duration_ms(segments[-1][1]) if segments else 0
        if audio_end_ms > total_ms:
            raise ProtocolError("invalid_value",
                                f"audio_end_ms {audio_end_ms} is past the end of the item's "
                                f"audio ({total_ms} ms).", "audio_end_ms")
        cut = audio_end_ms * SAMPLES_PER_MS
        item_rules.set_assistant_transcript(item, heard_text(segments, cut))
        self._assistant_audio[item_id] = [(s, min(e, cut), t) for s, e, t in segments if s < cut]
        self._emit("conversation.item.truncated", item_id=item_id, content_index=content_index,
                   audio_end_ms=audio_end_ms)

    @staticmethod
    def _item_id_param(event: dict[str, Any]) -> str:
        item_id = event.get("item_id")
        if not isinstance(item_id, str) or not item_id:
            raise ProtocolError("missing_required_parameter" if item_id is None
                                else "invalid_type", "'item_id' must be a string.", "item_id")
        return item_id

    # --------------------------------------------------------------- responses
    def _on_response_create(self, event: dict[str, Any]) -> None:
        params = event.get("response") or {}
        if not isinstance(params, dict):
            raise ProtocolError("invalid_type", "'response' must be an object.", "response")
        if self._response is not None:
            raise ProtocolError(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: "
                f"{self._response.id}. Wait until the response is finished before creating a "
                "new one.")
        self._turn_spans.mark("request", self.now)
        self._start_response(params, event.get("event_id"))

    def _start_response(self, params: dict[str, Any], client_event_id: str | None) -> None:
        request, in_conversation, metadata, output_format, served = \
            self._response_request(params)
        if not in_conversation:
            context = request.items
        else:
            context = list(self.conversation)
            request.items = context
        if self._ahead is not None and self._ahead.same_as(request):
            # Already under way since the pause: the driver hands over what it holds.
            request.response_id = self._ahead.response_id
            self._turn_spans.mark("llm_start", self._ahead_at)
            self._ahead = None
        self._drop_ahead()
        obj = {
            "id": request.response_id, "object": "realtime.response", "status": "in_progress",
            "status_details": None, "output": [],
            "conversation_id": self.conversation.id if in_conversation else None,
            "output_modalities": request.modalities,
            "max_output_tokens": request.max_output_tokens or "inf",
            "audio": {"output": {"format": output_format.wire(), "voice": request.voice}},
            "usage": None, "metadata": metadata,
        }
        waiting = {it["id"] for it in context if it.get("id") in self._pending_transcripts}
        self._response = _Response(request.response_id, obj, request, in_conversation, waiting,
                                   spans=self._turn_spans, server_tools=served)
        self._turn_spans = Spans()
        self._response.spans.mark("response_created", self.now)
        self._emit("response.created", response=dict(obj, output=[]))
        self._start_waiting_response()

    def _response_request(self, params: dict[str, Any]
                          ) -> tuple[ResponseRequest, bool, dict[str, Any] | None, AudioFormat,
                                     frozenset[str]]:
        known = {"instructions", "output_modalities", "audio", "tools", "tool_choice",
                 "max_output_tokens", "conversation", "input", "metadata", "temperature",
                 "prompt"}
        for key in params:
            if key not in known:
                raise ProtocolError("unknown_parameter", f"Unknown parameter: 'response.{key}'.",
                                    f"response.{key}")
        # Per-response overrides are validated exactly like a session update.
        overrides: dict[str, Any] = {k: params[k] for k in
                                     ("instructions", "tools", "tool_choice", "max_output_tokens",
                                      "temperature", "output_modalities") if k in params}
        if "audio" in params:
            output = (params["audio"] or {}).get("output") if isinstance(params["audio"], dict) \
                else params["audio"]
            overrides["audio"] = {"output": output}
        cfg = apply_update(self.config, overrides, "response") if overrides else self.config
        conversation = params.get("conversation", "auto")
        if conversation not in ("auto", "none"):
            raise ProtocolError("invalid_value", "'conversation' must be 'auto' or 'none'.",
                                "response.conversation")
        items: list[Item] = []
        if "input" in params:
            if not isinstance(params["input"], list):
                raise ProtocolError("invalid_type", "'input' must be an array of items.",
                                    "response.input")
            for raw in params["input"]:
                if isinstance(raw, dict) and raw.get("type") == "item_reference":
                    items.append(self.conversation.get(str(raw.get("id")), "response.input"))
                else:
                    items.append(item_rules.parse_client_item(raw, self._decode_audio)[0])
        metadata = params.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise ProtocolError("invalid_type", "'metadata' must be an object.",
                                "response.metadata")
        max_tokens = cfg.max_output_tokens
        client_tools = [t.model_dump() for t in cfg.tools]
        names = {t["name"] for t in client_tools}
        served = frozenset(n for n in self.server_tools if n not in names)
        tools = client_tools + [self.server_tools[n] for n in self.server_tools if n in served]
        request = ResponseRequest(
            response_id=ids.response_id(), instructions=cfg.instructions, items=items,
            private_instructions=self.private_instructions,
            tools=tools, tool_choice=cfg.tool_choice,
            modalities=cfg.output_modalities, voice=cfg.audio.output.voice,
            speed=cfg.audio.output.speed, temperature=cfg.temperature,
            max_output_tokens=None if max_tokens == "inf" else int(max_tokens))
        in_conversation = conversation == "auto" and "input" not in params
        return request, in_conversation, metadata, cfg.audio.output.format, served

    def _start_waiting_response(self) -> None:
        response = self._response
        if response is None or response.started:
            return
        response.waiting_for &= self._pending_transcripts
        if response.waiting_for:
            return
        response.started = True
        response.spans.mark("llm_start", self.now)
        # Transcripts may have arrived since the context was taken: use the items now.
        if response.in_conversation:
            response.request.items = list(self.conversation)
        self._commands.append(Respond(response.request))

    # -------------------------------------------------------------- brain output
    def _current(self, response_id: str) -> _Response | None:
        response = self._response
        return response if response is not None and response.id == response_id else None

    def _open_message(self, response: _Response) -> _Message:
        if response.message is not None:
            return response.message
        audio = response.request.modalities == ["audio"]
        item = item_rules.assistant_item(ids.item_id(), audio)
        output_index = len(response.obj["output"])
        response.obj["output"].append(item)
        message = _Message(item, output_index,
                           Encoder(FORMATS[response.obj["audio"]["output"]["format"]["type"]])
                           if audio else None)
        response.message = message
        self._add_output_item(response, item)
        part = {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}
        self._emit("response.content_part.added", response_id=response.id, item_id=item["id"],
                   output_index=output_index, content_index=0, part=part)
        if audio:
            self._assistant_audio[item["id"]] = message.segments
        return message

    def _add_output_item(self, response: _Response, item: Item) -> None:
        previous = None
        if response.in_conversation:
            previous = self.conversation.insert(item)
        output_index = response.obj["output"].index(item)
        self._emit("response.output_item.added", response_id=response.id,
                   output_index=output_index, item=item_rules.wire(item))
        if response.in_conversation:
            self._emit("conversation.item.added", item=item_rules.wire(item),
                       previous_item_id=previous)

    def response_audio(self, response_id: str, pcm: np.ndarray, text: str,
                       now: float = 0.0) -> None:
        """A chunk of assistant speech (int16, 24 kHz); `text` is what it starts to say."""
        self.now = now
        response = self._current(response_id)
        if response is None:
            return
        message = self._open_message(response)
        response.spans.mark("first_audio", now)
        response.spans.set("last_audio", now)
        common = {"response_id": response_id, "item_id": message.item["id"],
                  "output_index": message.output_index, "content_index": 0}
        if text:
            message.text += text
            message.segments.append((message.samples, message.samples + len(pcm), text))
            self._emit("response.output_audio_transcript.delta", delta=text, **common)
        elif message.segments:
            start, _, seg_text = message.segments[-1]
            message.segments[-1] = (start, message.samples + len(pcm), seg_text)
        message.samples += len(pcm)
        assert message.encoder is not None
        data = message.encoder.encode(pcm)
        if data:
            self._emit("response.output_audio.delta", delta=base64.b64encode(data).decode(),
                       **common)

    def response_mark(self, response_id: str, name: str, now: float) -> None:
        """A moment inside the brain (e.g. the LLM's first token) for the turn's spans."""
        response = self._current(response_id)
        if response is not None:
            response.spans.mark(name, now)

    def response_text(self, response_id: str, delta: str, now: float = 0.0) -> None:
        self.now = now
        response = self._current(response_id)
        if response is None or not delta:
            return
        message = self._open_message(response)
        message.text += delta
        self._emit("response.output_text.delta", response_id=response_id,
                   item_id=message.item["id"], output_index=message.output_index,
                   content_index=0, delta=delta)

    def response_tool_call(self, response_id: str, name: str, arguments: str,
                           call_id: str = "", now: float = 0.0) -> None:
        self.now = now
        response = self._current(response_id)
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
        self._emit("response.function_call_arguments.delta", delta=arguments, **common)
        self._emit("response.function_call_arguments.done", arguments=arguments, name=name,
                   **common)
        item["status"] = "completed"
        self._finish_output_item(response, item)
        if name in response.server_tools and response.in_conversation:
            self._pending_tools.add(item["call_id"])
            response.server_calls += 1
            self._commands.append(RunTool(response_id, item["call_id"], name, arguments))

    def response_finish(self, response_id: str, error: str | None = None,
                        usage: Usage | None = None, now: float = 0.0) -> None:
        self.now = now
        response = self._current(response_id)
        if response is None:
            return
        if usage is not None:
            response.usage = usage
        if error is None:
            self._finish_response(response, "completed", None)
            if response.server_calls:
                # The answer to the tools belongs to the same user turn.
                self._turn_spans = response.spans.turn()
                if not self._pending_tools:
                    self._start_response({}, None)  # the tools were quicker than the response
        else:
            self._finish_response(response, "failed", {
                "type": "failed",
                "error": {"type": "server_error", "code": "engine_error", "message": error}})

    def _close_message(self, response: _Response, status: str) -> None:
        message = response.message
        if message is None:
            return
        response.message = None
        common = {"response_id": response.id, "item_id": message.item["id"],
                  "output_index": message.output_index, "content_index": 0}
        if message.encoder is not None:
            self._emit("response.output_audio.done", **common)
            self._emit("response.output_audio_transcript.done", transcript=message.text,
                       **common)
            part = {"type": "audio", "transcript": message.text}
        else:
            self._emit("response.output_text.done", text=message.text, **common)
            part = {"type": "text", "text": message.text}
        self._emit("response.content_part.done", part=part, **common)
        item_rules.set_assistant_transcript(message.item, message.text)
        message.item["status"] = status
        self._finish_output_item(response, message.item)

    def _finish_output_item(self, response: _Response, item: Item) -> None:
        self._emit("response.output_item.done", response_id=response.id,
                   output_index=response.obj["output"].index(item), item=item_rules.wire(item))
        if response.in_conversation:
            self._emit("conversation.item.done", item=item_rules.wire(item),
                       previous_item_id=self.conversation.previous_id(item["id"]))

    def _finish_response(self, response: _Response, status: str,
                         details: dict[str, Any] | None) -> None:
        item_status = "completed" if status == "completed" else "incomplete"
        self._close_message(response, item_status)
        self._response = None
        usage = response.usage
        obj = dict(response.obj, status=status, status_details=details,
                   output=[item_rules.wire(i) for i in response.obj["output"]],
                   usage={
                       "total_tokens": usage.input_tokens + usage.output_tokens,
                       "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
                       "input_token_details": {"text_tokens": usage.input_tokens,
                                               "audio_tokens": 0,
                                               "cached_tokens": usage.cached_tokens},
                       "output_token_details": {"text_tokens": usage.output_tokens,
                                                "audio_tokens": 0},
                   })
        self._emit("response.done", response=obj)
        self._emit("rate_limits.updated", rate_limits=RATE_LIMITS)
        if status != "completed":
            # A stopped turn stops everything it set going, earlier tool calls included.
            self._cancel_tools()
        response.spans.mark("done", self.now)
        # An extension event: the transport forwards it only to clients that asked.
        self._emit(SPANS_EVENT, response_id=response.id, status=status,
                   spans=response.spans.relative())
        # Idle time counts from when the answer will have finished playing.
        played = sum(duration_ms(s[1] - s[0]) for item in response.obj["output"]
                     for s in self._assistant_audio.get(item["id"], []))
        self._idle_anchor_ms = self._buffer.timeline_ms + played

    # ------------------------------------------------------------- server tools
    def tool_result(self, call_id: str, output: str, now: float = 0.0) -> None:
        """A server tool's output; when the last one is in, the model answers."""
        self.now = now
        if call_id not in self._pending_tools:
            return  # cancelled meanwhile
        self._pending_tools.discard(call_id)
        self._add_tool_output(call_id, output)
        (self._response.spans if self._response else self._turn_spans).mark("tool_done", now)
        if not self._pending_tools and self._response is None:
            self._start_response({}, None)

    def _add_tool_output(self, call_id: str, output: str) -> None:
        item = {"id": ids.item_id(), "object": "realtime.item", "type": "function_call_output",
                "status": "completed", "call_id": call_id, "output": output}
        previous = self.conversation.insert(item)
        self._emit("conversation.item.added", item=item_rules.wire(item),
                   previous_item_id=previous)
        self._emit("conversation.item.done", item=item_rules.wire(item),
                   previous_item_id=previous)

    def _cancel_tools(self) -> None:
        """Stop running server tools; each call gets an honest output."""
        for call_id in sorted(self._pending_tools):
            self._pending_tools.discard(call_id)
            self._commands.append(CancelTool(call_id))
            self._add_tool_output(call_id, json.dumps(
                {"error": "Cancelled: the user interrupted before the result came."}))

    @property
    def tools_pending(self) -> bool:
        return bool(self._pending_tools)

    def _cancel_response(self, reason: str) -> None:
        response = self._response
        if response is None:
            return
        if response.started:
            self._commands.append(Cancel(response.id))
        self._finish_response(response, "cancelled", {"type": "cancelled", "reason": reason})

    def _on_response_cancel(self, event: dict[str, Any]) -> None:
        response_id = event.get("response_id")
        if response_id is not None and not isinstance(response_id, str):
            raise ProtocolError("invalid_type", "'response_id' must be a string.", "response_id")
        if self._response is None or (response_id and response_id != self._response.id):
            raise ProtocolError("response_cancel_not_active",
                                "Cancellation failed: no active response found"
                                + (f" with id '{response_id}'." if response_id else "."),
                                "response_id" if response_id else None)
        self._cancel_response("client_cancelled")

    def _on_output_clear(self, event: dict[str, Any]) -> None:
        response = self._response
        if response is None:
            raise ProtocolError("output_audio_buffer_not_active",
                                "There is no assistant audio being produced to clear.")
        self._cancel_response("client_cancelled")
        self._emit("output_audio_buffer.cleared", response_id=response.id)
