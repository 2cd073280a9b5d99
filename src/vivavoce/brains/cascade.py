"""The local cascade: STT → LLM → clause segmentation → TTS, streaming at every step.

The LLM runs in its own thread and feeds clauses into a queue while TTS
speaks the previous ones, so the first clause is heard while the rest of the
answer is still being written.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing

import numpy as np

from vivavoce.audio.formats import INTERNAL_RATE, SPEECH_RATE
from vivavoce.audio.onset import from_onset
from vivavoce.audio.resample import StreamResampler, int16_to_float, resample
from vivavoce.brains.base import AudioOut, BrainOutput, Mark
from vivavoce.brains.messages import to_messages
from vivavoce.brains.threads import (
    call_in_thread,
    iterate_in_thread,
    run_later,
    run_urgent,
    thread_for,
    work_waiting,
)
from vivavoce.engines.base import LLM, STT, TTS, EndOfTurn, LLMChunk, LLMRequest, TextDelta
from vivavoce.engines.clauses import ClauseSegmenter
from vivavoce.engines.punctuation_end_of_turn import PunctuationEndOfTurn
from vivavoce.types import ResponseRequest

# Said once before the persona: the model is heard, not read.
SPOKEN_STYLE = (
    "You are a voice assistant: your replies are spoken aloud. Answer in short, natural "
    "spoken sentences; no lists, markdown, emoji or code unless asked."
)


# The longest the LLM pauses for the first chunk's rendering.
MAX_PAUSE_S = 2.0


class Cascade:
    def __init__(self, stt: STT, llm: LLM, tts: TTS,
                 end_of_turn: EndOfTurn | None = None) -> None:
        """`end_of_turn`: a model that runs on the LLM (on its thread); without it,
        or while the LLM is busy, punctuation guesses."""
        self.stt = stt
        self.llm = llm
        self.tts = tts
        self.end_of_turn_model = end_of_turn
        self._punctuation = PunctuationEndOfTurn()
        self.voices = list(tts.voices)
        # One model instance serves every session, and each local engine's work runs in
        # turn on a thread of its own (brains/threads): llama.cpp contexts are not
        # re-entrant, and two sessions at once would only halve each one's speed. An
        # HTTP stage's calls overlap: they wait on its server.
        self._answering = 0  # responses that have the LLM (not a prefill)
        self._responses = 0  # responses the LLM has begun: a prefill queued behind one is stale

    async def transcribe(self, audio: np.ndarray, language: str | None,
                         prompt: str | None) -> str:
        if len(audio) == 0:
            return ""
        samples = int16_to_float(resample(audio, INTERNAL_RATE, SPEECH_RATE))
        text = await call_in_thread(
            lambda: self.stt.transcribe(samples, language=language, prompt=prompt),
            thread_for(self.stt, "stt"))
        return text.strip()

    def _voice(self, requested: str) -> str:
        # Unknown names (e.g. OpenAI's "alloy") fall back to the default voice.
        return requested if requested in self.tts.voices else self.tts.default_voice

    @staticmethod
    def _llm_request(request: ResponseRequest) -> LLMRequest:
        instructions = "\n\n".join(part for part in (
            SPOKEN_STYLE, request.instructions, request.private_instructions) if part)
        tools = [] if request.tool_choice == "none" else request.tools
        return LLMRequest(
            messages=to_messages(instructions, request.items), tools=tools,
            tool_choice=request.tool_choice, temperature=request.temperature,
            max_tokens=request.max_output_tokens)

    def _llm_stream(self, request: ResponseRequest, cancel: threading.Event,
                    go: threading.Event | None) -> Iterator[LLMChunk]:
        """The LLM's stream; with `go`, each token waits for the consumer to set it."""
        self._answering += 1
        self._responses += 1
        try:
            for chunk in self.llm.stream(self._llm_request(request), cancel):
                if go is not None:
                    go.clear()
                yield chunk
                if go is not None:
                    # Bounded: an answer whose consumer vanished without closing it must
                    # not hold the model (and the engine's thread) for ever.
                    go.wait(MAX_PAUSE_S)
        finally:
            self._answering -= 1

    def _refresh(self) -> None:
        """After an answer, while it plays: make an approximate LLM cache exact (see
        engines/kv_splice), giving the model up to any work queued for it (a response, a
        score, a prefill: a refresh is only tidying up)."""
        run_later(lambda: self.llm.refresh(lambda: work_waiting("llm")), "llm")

    async def prefill(self, request: ResponseRequest) -> None:
        # Never make a real response wait for a guess: none while one has the model, and
        # one queued behind a response is stale by its turn.
        if self._answering:
            return
        asked = self._responses

        def read() -> None:
            if self._responses == asked:
                # A long read (new instructions and tools) lets a score go ahead of it.
                self.llm.prefill(self._llm_request(request), lambda: run_urgent("llm"))

        await call_in_thread(read, "llm")

    async def keep(self, request: ResponseRequest) -> None:
        """Read a server-wide prompt (a persona's instructions and tools) now and keep it
        read for every session that starts with it."""
        await call_in_thread(lambda: self.llm.keep(self._llm_request(request)), "llm")

    async def warm_up(self, prompts: list[ResponseRequest], stt: bool = True,
                      tts: bool = True) -> None:
        """Before the first caller: keep `prompts` read, and have the speech engines
        asked for (local ones: a remote one may not be up yet) make their first,
        slowest call."""
        for request in prompts:
            await self.keep(request)
        if stt:
            await self.transcribe(np.zeros(INTERNAL_RATE, np.int16), None, None)
        if tts:
            async for _ in self.speak("Hello.", self.tts.default_voice):
                pass

    async def end_of_turn(self, said: str, context: ResponseRequest) -> float:
        model = self.end_of_turn_model
        if model is None or self._answering:
            # Never make a response wait for a guess (nor the guess wait for a response,
            # queued behind it on the LLM's thread): punctuation's instead.
            return self._punctuation.probability(said, LLMRequest([]))
        # Urgent: ahead of prefills and refreshes, and in the midst of a long read.
        # Abandoned before its turn (the turn was answered), it never runs.
        return await call_in_thread(
            lambda: model.probability(said, self._llm_request(context)), "llm", urgent=True)

    def _tts_stream(self, text: str, voice: str, speed: float,
                    cancel: threading.Event) -> Iterator[np.ndarray]:
        resampler = StreamResampler(self.tts.sample_rate, INTERNAL_RATE)
        for chunk in from_onset(self.tts.synthesize(text, voice, cancel, speed),
                                self.tts.sample_rate):
            out = resampler.process(chunk)
            if len(out):
                yield out
        tail = resampler.process(np.zeros(0, np.int16), last=True)
        if len(tail):
            yield tail

    async def speak(self, text: str, voice: str, speed: float = 1.0) -> AsyncIterator[AudioOut]:
        """Say `text`; the first chunk carries it (for the transcript)."""
        spoken = text.strip()
        async with aclosing(iterate_in_thread(
                lambda cancel: self._tts_stream(spoken, self._voice(voice), speed, cancel),
                thread_for(self.tts, "tts"))) as speech:
            async for pcm in speech:
                yield AudioOut(pcm, text)
                text = ""

    async def respond(self, request: ResponseRequest) -> AsyncIterator[BrainOutput]:
        audio = request.modalities == ["audio"]
        go = threading.Event()  # audio: paced by the clause writer
        llm = iterate_in_thread(
            lambda cancel: self._llm_stream(request, cancel, go if audio else None),
            thread_for(self.llm, "llm"))
        writing: asyncio.Task[None] | None = None
        try:
            if not audio:
                first = True
                async for chunk in llm:
                    if first:
                        first = False
                        yield Mark("llm_first_token")
                    yield chunk
                self._refresh()
                return
            # Audio: clauses flow through a queue so TTS and the LLM overlap.
            clauses: asyncio.Queue[str | LLMChunk | Mark | BaseException | None] = asyncio.Queue()
            writer = _ClauseWriter(clauses, go)
            writing = asyncio.create_task(writer.run(llm))
            voice = request.voice
            first = True
            while (item := await clauses.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                if not isinstance(item, str):
                    yield item
                    continue
                async with aclosing(self.speak(item if first else " " + item, voice,
                                               request.speed)) as speech:
                    async for out in speech:
                        if first:
                            writer.release()  # heard: the LLM may go on
                        yield out
                if first:
                    writer.release()  # a clause that made no sound must not hold it either
                first = False
            self._refresh()
        finally:
            # Stop the LLM thread too: a cancelled answer must not keep the CPU busy.
            if writing is not None:
                writing.cancel()
                await asyncio.gather(writing, return_exceptions=True)
            await llm.aclose()
            go.set()  # a paused LLM thread must wake to see that it is cancelled



class _ClauseWriter:
    """Turns the LLM's stream into speakable clauses (and marks) on a queue, and paces
    the LLM (`go`): it writes its next token once this one is taken, and none from the
    first clause until that clause's first audio (`release`). Nobody hears anything
    until that chunk is rendered, so Piper gets both cores; the LLM is ahead of the
    speech anyway. (Stopped only once the clause reached the event loop, it wrote a
    token or two more beside Piper: the first chunk took ~150 ms instead of ~100.)"""

    def __init__(self, clauses: asyncio.Queue, go: threading.Event) -> None:
        self.clauses = clauses
        self.go = go
        self.segmenter = ClauseSegmenter()
        self.first_token = True
        self.first_clause = True
        self.holding = False

    def release(self) -> None:
        self.holding = False
        self.go.set()

    def _put(self, texts: list[str]) -> None:
        for text in texts:
            if self.first_clause:
                self.first_clause = False
                self.holding = True
                self.clauses.put_nowait(Mark("first_clause"))
            self.clauses.put_nowait(text)

    async def run(self, llm: AsyncIterator[LLMChunk]) -> None:
        try:
            async for chunk in llm:
                if self.first_token:
                    self.first_token = False
                    self.clauses.put_nowait(Mark("llm_first_token"))
                if isinstance(chunk, TextDelta):
                    self._put(self.segmenter.feed(chunk.text))
                else:
                    self._put(self.segmenter.flush())
                    self.clauses.put_nowait(chunk)
                if not self.holding:
                    self.go.set()
            self._put(self.segmenter.flush())
            self.clauses.put_nowait(None)
        except Exception as exc:
            self.clauses.put_nowait(exc)
