"""The cascade paces the LLM by its clauses: nothing is written while the first clause is
rendered (nobody hears anything until it is), everything after it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import numpy as np

from vivavoce.brains.base import AudioOut
from vivavoce.brains.cascade import Cascade
from vivavoce.engines.base import LLMRequest, TextDelta
from vivavoce.types import ResponseRequest

WORDS = ["The", "capital", "of", "France", "is", "Paris,", "a", "city", "on", "the", "Seine."]


class CountingLLM:
    """Writes a sentence a word a token, noting when each token was written."""

    name = "counting"

    def __init__(self) -> None:
        self.written: list[float] = []

    def stream(self, request: LLMRequest, cancel: threading.Event) -> Iterator[TextDelta]:
        for word in WORDS:
            time.sleep(0.01)
            self.written.append(time.monotonic())
            yield TextDelta(word + " ")

    def refresh(self, stop: Callable[[], bool]) -> None:
        pass


class SlowTTS:
    """Renders each clause in 0.3 s, noting when."""

    default_voice = "joe"
    sample_rate = 24000

    def __init__(self) -> None:
        self.voices = ["joe"]
        self.rendering: list[tuple[float, float]] = []

    def synthesize(self, text: str, voice: str | None, cancel: threading.Event,
                   speed: float = 1.0) -> Iterator[np.ndarray]:
        began = time.monotonic()
        time.sleep(0.3)
        self.rendering.append((began, time.monotonic()))
        yield np.full(2400, 3000, np.int16)


async def test_the_llm_writes_nothing_while_the_first_clause_is_rendered():
    llm, tts = CountingLLM(), SlowTTS()
    cascade = Cascade(SimpleNamespace(name="stt"), llm, tts)  # type: ignore[arg-type]
    request = ResponseRequest("resp_1", "Be brief.", [
        {"type": "message", "role": "user",
         "content": [{"type": "input_text", "text": "What is the capital of France?"}]}],
        modalities=["audio"])
    said = "".join([out.text async for out in cascade.respond(request)
                    if isinstance(out, AudioOut)])
    assert said == " ".join(WORDS)
    (began, ended), *_ = tts.rendering
    assert [at for at in llm.written if began < at < ended] == []  # held for the first...
    assert len(llm.written) == len(WORDS)  # ...and all written after it


class MuteFirstTTS(SlowTTS):
    """Makes no sound for the first clause."""

    def synthesize(self, text: str, voice: str | None, cancel: threading.Event,
                   speed: float = 1.0) -> Iterator[np.ndarray]:
        if self.rendering:
            yield from super().synthesize(text, voice, cancel, speed)
        else:
            self.rendering.append((time.monotonic(), time.monotonic()))


async def test_a_first_clause_without_sound_does_not_hold_the_llm():
    llm, tts = CountingLLM(), MuteFirstTTS()
    cascade = Cascade(SimpleNamespace(name="stt"), llm, tts)  # type: ignore[arg-type]
    request = ResponseRequest("resp_1", "Be brief.", [], modalities=["audio"])
    started = time.monotonic()
    said = "".join([out.text async for out in cascade.respond(request)
                    if isinstance(out, AudioOut)])
    assert said == " " + " ".join(WORDS[4:])  # the first clause, "The capital of France", unheard
    assert time.monotonic() - started < 1.5  # not 2 s a token
