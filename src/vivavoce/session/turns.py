"""Turn-taking, sans-I/O: when the user speaks, pauses and is done.

Owns the input audio buffer and, with server or semantic VAD, the VAD frames and the
turn detector; commits each turn's audio. While the user speaks it has the turn so far
transcribed every second (the LLM prefills with it); at the first pause it has the
utterance transcribed and the response it would get started ahead (its output held);
semantic_vad has those words scored and ends the turn once the silence is as long as
their score asks (see end_of_turn). The voice coming back drops what was started at
the pause. What it decides, the session (its `TurnHost`) carries out.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from vivavoce.engines.base import VAD
from vivavoce.protocol import ids
from vivavoce.protocol.errors import ProtocolError
from vivavoce.session import items as item_rules
from vivavoce.session.commands import Cancel, Prefill, Prepare, Purpose, ScoreTurn
from vivavoce.session.config import TurnDetection
from vivavoce.session.end_of_turn import SCHEDULES, UNSCORED_SILENCE_MS
from vivavoce.session.input_buffer import InputAudioBuffer
from vivavoce.session.outbox import Outbox
from vivavoce.session.spans import Spans
from vivavoce.session.speculation import PARTIAL_EVERY_MS, Speculation
from vivavoce.session.turn_detection import (
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
    SpeechStopped,
    TurnDetector,
)
from vivavoce.session.vad_frames import VADFrames
from vivavoce.types import Item, ResponseRequest


class TurnHost(Protocol):
    """What turn-taking needs from the session around it."""

    @property
    def responding(self) -> bool: ...

    def interrupt(self, speech_start: float) -> None:
        """The user spoke over the assistant: stop its answer and its tools."""

    def transcribe(self, item_id: str, audio: np.ndarray, purpose: Purpose) -> None: ...

    def commit(self, item_id: str, audio: np.ndarray, spans: Spans | None,
               speculation: Speculation | None = None) -> None:
        """A turn's audio becomes a user item; `spans`, if given, are the moments of a new
        turn so far (else the turn goes on with those it has)."""

    def respond(self) -> None:
        """Answer the turn (a response as response.create with no parameters)."""

    def request_if_said(self, said: Item) -> ResponseRequest:
        """The request that response would be if `said` ended the conversation."""

    def transcribed(self, item_id: str, text: str | None, failure: str | None,
                    seconds: float) -> None:
        """An item's transcript (or why there is none), made ahead of its commit."""


class TurnTaking:
    def __init__(self, out: Outbox, host: TurnHost, vad: VAD | None,
                 turn: TurnDetection | None, speculative_stt: bool) -> None:
        self._out = out
        self._host = host
        self._vad = vad
        self._frames = VADFrames(vad) if vad else None
        self._speculative_stt = speculative_stt
        self.buffer = InputAudioBuffer()
        self._turn: TurnDetection | None = None
        self._detector: TurnDetector | None = None
        self._speech_item_id: str | None = None
        self._speech_start_ms = 0
        # Idle timeout counts from when the last answer finished playing (as hosted).
        self._idle_anchor_ms: int | None = None
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
        self._overflowing = False  # whether the buffer is dropping its oldest audio
        self.configure(turn)

    def configure(self, turn: TurnDetection | None) -> None:
        """New turn detection settings: detection starts over."""
        self._turn = turn
        self._detector = None if turn is None or self._vad is None else \
            TurnDetector(turn.threshold, turn.prefix_padding_ms, self._silence_window(turn))
        self._idle_anchor_ms = None

    def _silence_window(self, turn: TurnDetection) -> int:
        """The silence that ends a turn whatever was said (server_vad: exactly the
        client's window)."""
        if turn.type != "semantic_vad":
            return turn.silence_duration_ms
        if self._speculative_stt:
            return SCHEDULES[turn.eagerness].cap_ms
        return UNSCORED_SILENCE_MS[turn.eagerness]

    @property
    def _semantic(self) -> bool:
        """Whether the words at a pause decide when the turn ends."""
        return self._turn is not None and self._turn.type == "semantic_vad" \
            and self._speculative_stt

    @property
    def _answering(self) -> bool:
        """Whether a finished turn is answered on its own (create_response)."""
        return self._turn is not None and self._turn.create_response

    # ------------------------------------------------------------------ audio in
    def append(self, pcm: np.ndarray) -> None:
        """Audio in. ProtocolError, once the audio is taken, when the buffer overflows."""
        overflowing = self._overflowing
        self._overflowing = self.buffer.append(pcm) > 0
        self._detect(pcm)
        if self._overflowing and not overflowing:  # told once, not with every append
            raise ProtocolError(
                "input_audio_buffer_overflow",
                f"The input audio buffer holds at most {self.buffer.max_ms // 1000} s of audio; "
                "the oldest audio was dropped. Commit or clear the buffer sooner (or let turn "
                "detection do it).")

    def _detect(self, pcm: np.ndarray) -> None:
        if self._detector is None or self._frames is None or self._turn is None:
            return
        for probability, start_ms, end_ms in self._frames.feed(pcm):
            change = self._detector.feed(probability, start_ms, end_ms)
            if isinstance(change, SpeechStarted):
                self._speech_started(change)
            elif isinstance(change, SpeechPaused):
                self._speculate(change)
            elif isinstance(change, SpeechResumed):
                self._voice_resumed()
            elif isinstance(change, SpeechStopped):
                self._speech_stopped(change)
            else:
                self._end_if_sure()
        self._transcribe_partial()
        if not self._detector.speaking:
            self.buffer.keep_last(self._turn.prefix_padding_ms + 2 * self._frames.frame_ms)
            self._check_idle(self._turn.idle_timeout_ms)

    def _speech_started(self, change: SpeechStarted) -> None:
        assert self._turn is not None
        self._speech_item_id = ids.item_id()
        self._speech_start_ms = change.audio_start_ms
        self._partial_ms = change.voiced_ms
        self._idle_anchor_ms = None
        self._drop_ahead()
        if self._turn.interrupt_response:
            self._host.interrupt(self._out.now - (change.detected_ms - change.voiced_ms) / 1000)
        self._out.emit("input_audio_buffer.speech_started",
                       audio_start_ms=change.audio_start_ms, item_id=self._speech_item_id)

    def _speculate(self, change: SpeechPaused) -> None:
        if not self._speculative_stt:
            return
        if self._pause is not None:  # the voice came back since: that one is stale
            self._speculations.pop(self._pause.id, None)
        self._pause = Speculation(ids.new_id("spec_"), change.silence_start_ms, self._out.now)
        self._speculations[self._pause.id] = self._pause
        audio = self.buffer.peek(self._speech_start_ms, self.buffer.timeline_ms)
        self._host.transcribe(self._pause.id, audio, Purpose.PAUSE)

    def _transcribe_partial(self) -> None:
        """Every so often while the user speaks, transcribe what they have said so far."""
        detector = self._detector
        if not self._speculative_stt or detector is None or not detector.speaking \
                or not self._answering or self._host.responding \
                or self._partial is not None or not detector.voiced \
                or self.buffer.timeline_ms - self._partial_ms < PARTIAL_EVERY_MS:
            return
        self._partial = ids.new_id("part_")
        self._partial_ms = self.buffer.timeline_ms
        audio = self.buffer.peek(self._speech_start_ms, self.buffer.timeline_ms)
        self._host.transcribe(self._partial, audio, Purpose.PARTIAL)

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
        self._out.emit("input_audio_buffer.speech_stopped", audio_end_ms=change.audio_end_ms,
                       item_id=item_id)
        audio = self.buffer.take(self._speech_start_ms, change.detected_ms)
        spans = Spans()
        now = self._out.now
        # The silence window was heard in audio time; the voice ended that long ago.
        spans.mark("speech_end", now - (change.detected_ms - change.audio_end_ms) / 1000)
        spans.mark("speech_stopped", now)
        if pause is not None:
            spans.mark("stt_start", pause.started_at)
            if pause.done_at is not None:
                spans.mark("stt_done", pause.done_at)
        self._host.commit(item_id, audio, spans, pause)
        if self._answering and not self._host.responding:
            self._host.respond()

    def _check_idle(self, idle_timeout_ms: int | None) -> None:
        if idle_timeout_ms is None or self._host.responding or self._idle_anchor_ms is None:
            return
        now_ms = self.buffer.timeline_ms
        if now_ms - self._idle_anchor_ms < idle_timeout_ms:
            return
        item_id = ids.item_id()
        self._out.emit("input_audio_buffer.timeout_triggered",
                       audio_start_ms=self._idle_anchor_ms, audio_end_ms=now_ms, item_id=item_id)
        self._idle_anchor_ms = None
        self.buffer.clear()
        self._host.commit(item_id, np.zeros(0, np.int16), None)
        self._host.respond()

    def answer_finished(self, played_ms: int) -> None:
        """An answer ended; idle time counts from when its audio will have played."""
        self._idle_anchor_ms = self.buffer.timeline_ms + played_ms

    # ------------------------------------------------------------------ manual control
    def commit(self) -> tuple[str, np.ndarray]:
        """`input_audio_buffer.commit`: the buffered audio, as the item it becomes."""
        item_id = self._speech_item_id or ids.item_id()
        self._speech_item_id = None
        if self._detector is not None:
            self._detector.reset()
        return item_id, self.buffer.take()

    def clear(self) -> None:
        self.buffer.clear()
        if self._detector is not None:
            self._detector.reset()
        self._speech_item_id = None

    # ------------------------------------------------------------------ transcripts
    def pause_transcribed(self, spec_id: str, text: str | None, failure: str | None,
                          seconds: float) -> None:
        """The utterance as it was at a pause."""
        speculation = self._speculations.get(spec_id)
        if speculation is None:
            return  # stale: the user kept talking
        speculation.text, speculation.failure, speculation.seconds = text, failure, seconds
        speculation.done_at = self._out.now
        if speculation.item_id is not None:
            self.deliver(speculation)
            return
        if self._semantic and speculation is self._pause:
            if not text:
                speculation.end_probability = 0.0  # no words yet: wait for them (or the cap)
            else:
                context = self._request_if_said(text)
                context.items = context.items[:-1]
                self._out.ask(ScoreTurn(speculation.id, text, context))
        if text:
            self._respond_ahead(text)

    def end_of_turn_scored(self, spec_id: str, probability: float) -> None:
        """How likely the words at the current pause end the turn."""
        if self._pause is None or self._pause.id != spec_id:
            return  # stale: the user kept talking
        self._pause.end_probability = probability
        self._end_if_sure()

    def partial_transcribed(self, partial_id: str, text: str | None) -> None:
        """The turn so far, while the user speaks."""
        if partial_id != self._partial:
            return
        self._partial = None
        if text and self._detector is not None and self._detector.speaking \
                and not self._host.responding:
            # The LLM reads the turn so far now; at the pause only the rest is new.
            self._out.ask(Prefill(self._request_if_said(text)))

    def deliver(self, speculation: Speculation) -> None:
        """A speculation adopted by an item: once it is done, its text is the item's."""
        if not speculation.finished:
            return
        del self._speculations[speculation.id]
        assert speculation.item_id is not None
        self._host.transcribed(speculation.item_id, speculation.text, speculation.failure,
                               speculation.seconds)

    def _end_if_sure(self) -> None:
        """semantic_vad: end the turn once the pause is as long as its words' score asks."""
        pause, detector, turn = self._pause, self._detector, self._turn
        if pause is None or pause.end_probability is None or detector is None \
                or turn is None or not detector.speaking or not self._semantic:
            return
        assert self._frames is not None
        wait_ms = SCHEDULES[turn.eagerness].wait_ms(pause.end_probability)
        if self._frames.now_ms - pause.silence_start_ms < wait_ms:
            return
        detector.reset()
        self._speech_stopped(SpeechStopped(audio_end_ms=pause.silence_start_ms,
                                           detected_ms=self._frames.now_ms))

    # ------------------------------------------------------------------ responding ahead
    def _respond_ahead(self, text: str) -> None:
        """The user paused and this is what they said: if the turn ends here, this is
        the response it gets, so the brain may start on it now (its output is held)."""
        self._drop_ahead()
        if not self._answering or self._host.responding:
            return
        self._ahead, self._ahead_at = self._request_if_said(text), self._out.now
        self._out.ask(Prepare(self._ahead))

    def _request_if_said(self, text: str) -> ResponseRequest:
        """The response the turn would get if the user's words were `text`."""
        said = item_rules.user_audio_item(ids.item_id())
        item_rules.set_user_transcript(said, text)
        return self._host.request_if_said(said)

    def adopt(self, request: ResponseRequest, spans: Spans) -> None:
        """A response is being created: if it is the one started ahead, it takes over
        that one's id (and the work already done); anything else started ahead stops."""
        if self._ahead is not None and self._ahead.same_as(request):
            # Already under way since the pause: the driver hands over what it holds.
            request.response_id = self._ahead.response_id
            spans.mark("llm_start", self._ahead_at)
            self._ahead = None
        self._drop_ahead()

    def _drop_ahead(self) -> None:
        if self._ahead is not None:
            self._out.ask(Cancel(self._ahead.response_id))
            self._ahead = None
