"""One Realtime session as a state machine, in the spirit of h11.

Inputs: client events (`receive`) or raw input audio (`append_audio`), the brain's
output for a response (`response_audio`, `response_text`, `response_tool_call`,
`response_finish`), transcripts (`transcription_done`/`failed`), end-of-turn scores
(`end_of_turn_scored`), tool results.
Outputs: GA server events and commands for the runner (`drain`). No sockets, no
models, no clock of its own: the only engine it touches is the VAD stream it is
given, a pure function of the audio.

`Session` routes: turn-taking lives in `turns.TurnTaking`, response building in
`responses.Responses`; the session keeps the config and the conversation's items.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from vivavoce.audio.formats import FORMATS, Decoder, Encoder, duration_ms
from vivavoce.engines.base import VAD
from vivavoce.output_buffer import OutputBuffer
from vivavoce.protocol import client_events as ce
from vivavoce.protocol import ids
from vivavoce.protocol.errors import ProtocolError, parse_event, server_error
from vivavoce.session import items as item_rules
from vivavoce.session.commands import Command, Prefill, Purpose, Transcribe
from vivavoce.session.config import SessionConfig, apply_update
from vivavoce.session.conversation import Conversation
from vivavoce.session.outbox import Outbox
from vivavoce.session.responses import Responses
from vivavoce.session.spans import Spans
from vivavoce.session.speculation import Speculation
from vivavoce.session.turns import TurnTaking
from vivavoce.types import Event, Item, Played, ResponseRequest, Usage

# Like the hosted API: one append may carry at most 15 MiB of base64 audio.
MAX_APPEND_BYTES = 15 * 1024 * 1024
MIN_COMMIT_MS = 100


def _guarded(method: Callable[..., None]) -> Callable[..., None]:
    """The last line of defence around an input that is not a client event (raw audio, an
    engine's output): an unexpected exception becomes an `error`; the session goes on."""

    @functools.wraps(method)
    def guarded(self: Session, *args: Any, **kwargs: Any) -> None:
        try:
            method(self, *args, **kwargs)
        except ProtocolError as err:
            self.report(err)
        except Exception:
            self.report(server_error(method.__name__))

    return guarded


class Session:
    def __init__(self, *, session_id: str, model: str, vad: VAD | None,
                 config: SessionConfig | None = None,
                 server_tools: list[dict[str, Any]] | None = None,
                 private_instructions: str = "", speculative_stt: bool = True,
                 server_playback: bool = False) -> None:
        """`server_playback`: the transport plays the audio itself and reports what it
        played (WebRTC); barge-in then clears its buffer and truncates to what was heard."""
        self.config = (config or SessionConfig()).model_copy(update={"id": session_id,
                                                                      "model": model})
        self.conversation = Conversation(ids.new_id("conv_"))
        self._out = Outbox()
        self._decoder = Decoder(FORMATS[self.config.audio.input.format.type])
        self._item_audio: dict[str, np.ndarray] = {}
        # Transcriptions asked for and not yet answered, and what each is for.
        self._transcribing: dict[str, Purpose] = {}
        self._responses = Responses(self._out, self.conversation,
                                    server_tools=server_tools or [],
                                    private_instructions=private_instructions,
                                    on_finished=self._answer_finished,
                                    server_playback=server_playback)
        self._turns = TurnTaking(self._out, self, vad, self.config.audio.input.turn_detection,
                                 speculative_stt)
        # Fed only when the transport plays the audio itself; otherwise it holds nothing
        # and a client's clear only cancels.
        self._server_playback = server_playback
        self._output = OutputBuffer(self._out.emit)
        self._out.emit("session.created", session=self.config.wire())
        self._out.emit("conversation.created", conversation={
            "id": self.conversation.id, "object": "realtime.conversation"})

    def restore(self, items: list[Item]) -> None:
        """A resumed session's items, in order: back in the conversation, and announced
        again (added + done each) so the client can redraw it."""
        for item in items:
            self._added(item, self.conversation.insert(item))

    # ------------------------------------------------------------------ outputs
    def drain(self) -> tuple[list[Event], list[Command]]:
        return self._out.drain()

    def report(self, err: ProtocolError, client_event_id: str | None = None) -> None:
        """Send `err` as an `error` event; the session carries on."""
        self._out.emit("error", error=err.to_error(client_event_id))

    @property
    def now(self) -> float:
        return self._out.now

    def item_audio(self, item_id: str) -> np.ndarray | None:
        """The user's audio of an item (int16, 24 kHz), as committed or created."""
        return self._item_audio.get(item_id)

    @property
    def tools_pending(self) -> bool:
        return self._responses.tools_pending

    # ------------------------------------------------------------------ inputs
    def receive(self, raw: str | bytes | Event, now: float = 0.0) -> None:
        """Handle one client event; any problem becomes an `error` event."""
        self._out.now = now
        client_event_id = None
        what = "a client event"
        try:
            event = raw if isinstance(raw, dict) else parse_event(raw)
            client_event_id = ce.client_event_id(event)
            parsed = ce.parse_client_event(event)
            what = parsed.type
            self._handlers()[what](parsed)
        except ProtocolError as err:
            self.report(err, client_event_id)
        except Exception:
            self.report(server_error(what), client_event_id)

    @_guarded
    def append_audio(self, pcm: np.ndarray, now: float = 0.0) -> None:
        """Input audio that came without JSON (int16, 24 kHz): as an append would."""
        self._out.now = now
        self._turns.append(pcm)

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

    def _on_session_update(self, event: ce.SessionUpdate) -> None:
        old = self.config
        new = apply_update(old, event.session)
        new = new.model_copy(update={"id": old.id, "model": old.model})
        self.config = new
        if new.audio.input.format != old.audio.input.format:
            self._decoder = Decoder(FORMATS[new.audio.input.format.type])
        if new.audio.input.turn_detection != old.audio.input.turn_detection:
            self._turns.configure(new.audio.input.turn_detection)
        self._out.emit("session.updated", session=new.wire())
        if (new.instructions, new.tools) != (old.instructions, old.tools):
            # A new prompt prefix: read it now, while the user is still to speak.
            draft = self._responses.draft(ce.ResponseParams(), new, self._decode_audio)
            self._out.ask(Prefill(draft.request))

    # ------------------------------------------------------------------ input audio
    def _on_append(self, event: ce.InputAudioBufferAppend) -> None:
        self._turns.append(self._decode_audio(event.audio, "audio"))

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

    def _on_commit(self, event: ce.InputAudioBufferCommit) -> None:
        buffered_ms = self._turns.buffer.duration_ms
        if buffered_ms < MIN_COMMIT_MS:
            raise ProtocolError(
                "input_audio_buffer_commit_empty",
                f"Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered_ms}ms of audio.")
        item_id, audio = self._turns.commit()
        spans = Spans()
        spans.mark("commit", self.now)
        self.commit(item_id, audio, spans)

    def _on_clear(self, event: ce.InputAudioBufferClear) -> None:
        self._turns.clear()
        self._out.emit("input_audio_buffer.cleared")

    # ------------------------------------------------------------------ TurnHost
    @property
    def responding(self) -> bool:
        return self._responses.active

    def interrupt(self, speech_start: float) -> None:
        self._responses.barge_in(speech_start)
        self._responses.cancel_tools()
        # The transport stops playing and says what was heard.
        self._never_played(self._output.clear())

    def commit(self, item_id: str, audio: np.ndarray, spans: Spans | None,
               speculation: Speculation | None = None) -> None:
        if spans is not None:
            self._responses.next_spans = spans
        item = item_rules.user_audio_item(item_id)
        previous = self.conversation.insert(item)
        self._item_audio[item_id] = audio
        self._out.emit("input_audio_buffer.committed", item_id=item_id,
                       previous_item_id=previous)
        self._added(item, previous)
        if speculation is None:
            self._transcribe_item(item_id, audio)
            return
        # The words were transcribed at the pause; only silence came after.
        self._responses.awaiting_transcript(item_id)
        speculation.item_id = item_id
        self._turns.deliver(speculation)

    def respond(self) -> None:
        self._start_response(ce.ResponseParams())

    def request_if_said(self, said: Item) -> ResponseRequest:
        request = self._responses.draft(ce.ResponseParams(), self.config,
                                        self._decode_audio).request
        request.items = [*self.conversation, said]
        return request

    def transcribe(self, item_id: str, audio: np.ndarray, purpose: Purpose) -> None:
        transcription = self.config.audio.input.transcription
        self._transcribing[item_id] = purpose
        self._out.ask(Transcribe(item_id, audio, purpose,
                                 language=transcription.language if transcription else None,
                                 prompt=transcription.prompt if transcription else None))

    def _transcribe_item(self, item_id: str, audio: np.ndarray) -> None:
        self._responses.next_spans.mark("stt_start", self.now)
        self._responses.awaiting_transcript(item_id)
        self.transcribe(item_id, audio, Purpose.ITEM)

    def _answer_finished(self, response_id: str, played_ms: int) -> None:
        self._turns.answer_finished(played_ms)
        self._output.finished(response_id)

    # ------------------------------------------------------------------ transcripts
    @_guarded
    def transcription_done(self, item_id: str, text: str, audio_seconds: float,
                           now: float = 0.0) -> None:
        self._out.now = now
        self._transcription_result(item_id, text, None, audio_seconds)

    @_guarded
    def transcription_failed(self, item_id: str, message: str, now: float = 0.0) -> None:
        self._out.now = now
        self._transcription_result(item_id, None, message, 0.0)

    @_guarded
    def end_of_turn_scored(self, score_id: str, probability: float, now: float = 0.0) -> None:
        """A ScoreTurn's answer: how likely the user's words so far end their turn."""
        self._out.now = now
        self._turns.end_of_turn_scored(score_id, probability)

    def _transcription_result(self, item_id: str, text: str | None, failure: str | None,
                              seconds: float) -> None:
        purpose = self._transcribing.pop(item_id, None)
        if purpose is Purpose.PAUSE:
            self._turns.pause_transcribed(item_id, text, failure, seconds)
        elif purpose is Purpose.PARTIAL:
            self._turns.partial_transcribed(item_id, text)
        elif purpose is Purpose.ITEM:
            self.transcribed(item_id, text, failure, seconds)

    def transcribed(self, item_id: str, text: str | None, failure: str | None,
                    seconds: float) -> None:
        """An item's transcript, or why there is none."""
        self._responses.transcript_arrived(item_id, failure)
        if self.conversation.has(item_id):
            item = self.conversation.get(item_id)
            item_rules.set_user_transcript(item, text or "")
            if self.config.audio.input.transcription is not None:
                index = item_rules.audio_content_index(item)
                if text is not None:
                    self._out.emit("conversation.item.input_audio_transcription.delta",
                                   item_id=item_id, content_index=index, delta=text)
                    self._out.emit("conversation.item.input_audio_transcription.completed",
                                   item_id=item_id, content_index=index, transcript=text,
                                   usage={"type": "duration", "seconds": round(seconds, 3)})
                else:
                    self._out.emit("conversation.item.input_audio_transcription.failed",
                                   item_id=item_id, content_index=index,
                                   error={"type": "transcription_error", "code": "stt_failed",
                                          "message": failure or "", "param": None})
        self._responses.transcripts_settled()

    # ------------------------------------------------------------------ items
    def _added(self, item: Item, previous: str | None) -> None:
        self._out.emit("conversation.item.added", item=item_rules.wire(item),
                       previous_item_id=previous)
        self._out.emit("conversation.item.done", item=item_rules.wire(item),
                       previous_item_id=previous)

    def _on_item_create(self, event: ce.ConversationItemCreate) -> None:
        item, audio = item_rules.client_item(event.item, self._decode_audio)
        self._added(item, self.conversation.insert(item, event.previous_item_id))
        if audio is not None:
            self._item_audio[item["id"]] = audio
            self._transcribe_item(item["id"], audio)

    def _on_item_retrieve(self, event: ce.ConversationItemRetrieve) -> None:
        item = self.conversation.get(event.item_id)
        wire = item_rules.wire(item)
        audio = self._item_audio.get(item["id"])
        if audio is not None:
            index = item_rules.audio_content_index(item)
            data = Encoder(FORMATS[self.config.audio.input.format.type]).encode(audio)
            wire["content"][index]["audio"] = base64.b64encode(data).decode()
        self._out.emit("conversation.item.retrieved", item=wire)

    def _on_item_delete(self, event: ce.ConversationItemDelete) -> None:
        item_id = event.item_id
        if self._responses.streaming(item_id):
            raise ProtocolError("item_in_progress",
                                "Cannot delete an item while its response is in progress; "
                                "cancel the response first.", "item_id")
        self.conversation.delete(item_id)
        self._item_audio.pop(item_id, None)
        self._responses.forget(item_id)
        self._out.emit("conversation.item.deleted", item_id=item_id)

    def _on_item_truncate(self, event: ce.ConversationItemTruncate) -> None:
        item_id, content_index, audio_end_ms = event.item_id, event.content_index, \
            event.audio_end_ms
        item = self.conversation.get(item_id)
        if item.get("role") != "assistant" or item_rules.audio_content_index(item) is None:
            raise ProtocolError("invalid_value",
                                "Only assistant messages with audio can be truncated.", "item_id")
        if content_index != item_rules.audio_content_index(item):
            raise ProtocolError("invalid_value",
                                f"Content index {content_index} is not the item's audio part.",
                                "content_index")
        if self._responses.streaming(item_id):
            # The user heard only part of an answer still being made: stop making it.
            self._responses.cancel("client_cancelled")
        self._responses.truncate(item, audio_end_ms)
        self._out.emit("conversation.item.truncated", item_id=item_id,
                       content_index=content_index, audio_end_ms=audio_end_ms)

    # ------------------------------------------------------------------ responses
    def _on_response_create(self, event: ce.ResponseCreate) -> None:
        params = event.response or ce.ResponseParams()
        if self._responses.active_id is not None:
            raise ProtocolError(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: "
                f"{self._responses.active_id}. Wait until the response is finished before "
                "creating a new one.")
        self._responses.next_spans.mark("request", self.now)
        self._start_response(params)

    def _start_response(self, params: ce.ResponseParams) -> None:
        draft = self._responses.draft(params, self.config, self._decode_audio)
        self._turns.adopt(draft.request, self._responses.next_spans)
        self._responses.start(draft)

    def say(self, text: str, now: float = 0.0) -> None:
        """Say a fixed line as the assistant, as a response of its own (a greeting);
        nothing if a response is under way."""
        self._out.now = now
        if self._responses.active_id is not None:
            return
        draft = self._responses.draft(ce.ResponseParams(), self.config, self._decode_audio)
        draft.request.say = text
        self._responses.start(draft)

    def _on_response_cancel(self, event: ce.ResponseCancel) -> None:
        response_id = event.response_id
        active = self._responses.active_id
        if active is None or (response_id and response_id != active):
            raise ProtocolError("response_cancel_not_active",
                                "Cancellation failed: no active response found"
                                + (f" with id '{response_id}'." if response_id else "."),
                                "response_id" if response_id else None)
        self._responses.cancel("client_cancelled")

    def _on_output_clear(self, event: ce.OutputAudioBufferClear) -> None:
        cleared = self._output.clear_for_client(
            self._responses.active_id, lambda _: self._responses.cancel("client_cancelled"))
        self._never_played(cleared)

    def _never_played(self, response_ids: list[str]) -> None:
        for response_id in response_ids:
            self._responses.never_played(response_id)

    # ------------------------------------------------------------------ server playback
    @_guarded
    def played(self, report: Played, now: float = 0.0) -> None:
        """What the transport that plays the audio itself has played of a response."""
        self._out.now = now
        if not self._server_playback:
            return
        if report.state == "cleared":
            self._truncate_to_heard(report.item_id, duration_ms(report.item_samples))
        elif self._output.played(report):
            self._responses.mark(report.response_id, "first_played", now)

    def _truncate_to_heard(self, item_id: str, heard_ms: int) -> None:
        """Playback was cut: the item keeps only what was heard (as a client's
        `conversation.item.truncate` would, with nothing for the client to send)."""
        if not self.conversation.has(item_id):
            return
        item = self.conversation.get(item_id)
        index = item_rules.audio_content_index(item)
        if item.get("role") != "assistant" or index is None:
            return
        if self._responses.streaming(item_id):
            self._responses.cancel("client_cancelled")
        total_ms = self._responses.audio_ms(item_id)
        if heard_ms >= total_ms:
            return  # all of it was heard: nothing to cut
        self._responses.truncate(item, heard_ms)
        self._out.emit("conversation.item.truncated", item_id=item_id, content_index=index,
                       audio_end_ms=heard_ms)

    # ------------------------------------------------------------------ brain output
    @_guarded
    def response_audio(self, response_id: str, pcm: np.ndarray, text: str,
                       now: float = 0.0) -> None:
        """A chunk of assistant speech (int16, 24 kHz); `text` is what it starts to say."""
        self._out.now = now
        if self._server_playback and self._responses.active_id == response_id and len(pcm):
            self._output.made(response_id, len(pcm))
        self._responses.audio(response_id, pcm, text)

    @_guarded
    def response_mark(self, response_id: str, name: str, now: float) -> None:
        """A moment inside the brain (e.g. the LLM's first token) for the turn's spans."""
        self._responses.mark(response_id, name, now)

    @_guarded
    def response_text(self, response_id: str, delta: str, now: float = 0.0) -> None:
        self._out.now = now
        self._responses.text(response_id, delta)

    @_guarded
    def response_tool_call(self, response_id: str, name: str, arguments: str,
                           call_id: str = "", now: float = 0.0) -> None:
        self._out.now = now
        self._responses.tool_call(response_id, name, arguments, call_id)

    @_guarded
    def response_finish(self, response_id: str, error: str | None = None,
                        usage: Usage | None = None, now: float = 0.0) -> None:
        self._out.now = now
        if self._responses.finish(response_id, error, usage):
            self._start_response(ce.ResponseParams())  # the tools were quicker than the response

    @_guarded
    def tool_result(self, call_id: str, output: str, now: float = 0.0) -> None:
        """A server tool's output; when the last one is in, the model answers."""
        self._out.now = now
        if self._responses.tool_result(call_id, output):
            self._start_response(ce.ResponseParams())

