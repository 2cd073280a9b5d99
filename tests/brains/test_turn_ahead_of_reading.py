"""Turn detection never waits behind background work: while the LLM reads a client's new
instructions and tools (seconds on 2 cores), server_vad's speech_stopped goes out at the
end of the silence window, and semantic_vad's end-of-turn score runs in the midst of
that read instead of after it. The real cascade, driver, session and runner; an LLM
whose prefill reads for 3 s in chunks (letting urgent work run between them, as the
local engine does), and a scripted end-of-turn model."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import numpy as np

from tests.fakes import FakeTransport, FakeVAD, voice
from tests.helpers import silence
from vivavoce.brains.cascade import Cascade
from vivavoce.engines.base import LLMRequest, TextDelta
from vivavoce.runtime import Context, InputAudio, Runner
from vivavoce.runtime.backends import SessionBackend
from vivavoce.settings import Settings
from vivavoce.tools import ToolRegistry

READ_S = 3.0
CHUNKS = 30
LOOKUP = {"type": "function", "name": "lookup_order", "description": "Where an order is.",
          "parameters": {"type": "object", "properties": {"order": {"type": "string"}}}}


class SlowReader:
    """An LLM whose prefill reads for READ_S, in chunks; it notes when reads end."""

    name = "slow reader"

    def __init__(self) -> None:
        self.reading = threading.Event()
        self.read_done: list[float] = []

    def prefill(self, request: LLMRequest, pause: Callable[[], None] = lambda: None) -> None:
        self.reading.set()
        for chunk in range(CHUNKS):
            if chunk:
                pause()
            time.sleep(READ_S / CHUNKS)  # as llama.cpp does: the GIL is let go
        self.read_done.append(time.monotonic())
        self.reading.clear()

    def keep(self, request: LLMRequest) -> None:
        pass

    def refresh(self, stop: Callable[[], bool]) -> None:
        pass

    def stream(self, request: LLMRequest, cancel: threading.Event) -> Iterator[TextDelta]:
        yield TextDelta("Noted.")


class Scores:
    """An end-of-turn model: sure the turn is over; notes when it scored."""

    name = "scripted end of turn"

    def __init__(self) -> None:
        self.at: list[float] = []

    def probability(self, said: str, context: LLMRequest) -> float:
        self.at.append(time.monotonic())
        return 0.95


def cascade(llm: SlowReader, scores: Scores) -> Cascade:
    stt = SimpleNamespace(name="stt", transcribe=lambda *a, **k: "Where is my order?")
    tts = SimpleNamespace(voices=["joe"], default_voice="joe", sample_rate=22050)
    return Cascade(stt, llm, tts, scores)  # type: ignore[arg-type]


class Timed(FakeTransport):
    """A client that notes when each event arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}

    async def send(self, event: dict) -> None:
        self.arrived.setdefault(event["type"], time.monotonic())
        await super().send(event)


async def speak_in_real_time(client: FakeTransport, pcm: np.ndarray) -> float:
    """Stream `pcm` as a microphone does, 20 ms a frame; when the voice in it ended."""
    frame = 480
    start = time.monotonic()
    voice_end = None
    for n, offset in enumerate(range(0, len(pcm), frame)):
        chunk = pcm[offset:offset + frame]
        if voice_end is None and not chunk.any():
            voice_end = time.monotonic()
        client.put(InputAudio(chunk))
        await asyncio.sleep(max(0.0, start + (n + 1) * 0.02 - time.monotonic()))
    assert voice_end is not None
    return voice_end


async def a_turn_while_reading(turn_detection: dict) -> tuple[float, float, SlowReader, Scores]:
    """A session.update with new instructions and tools, then at once a spoken turn: when
    the voice ended, when speech_stopped came."""
    llm, scores = SlowReader(), Scores()
    runner = Runner(Settings(), SessionBackend(cascade(llm, scores), FakeVAD(),
                                               ToolRegistry()))
    client = Timed()
    served = asyncio.create_task(runner.serve(client, Context()))
    await client.wait_for("conversation.created")
    client.put({"type": "session.update", "session": {
        "instructions": "You look up orders.", "tools": [LOOKUP], "output_modalities": ["text"],
        "audio": {"input": {"turn_detection": turn_detection}}}})
    await client.wait_for("session.updated")
    assert await asyncio.to_thread(llm.reading.wait, 5)  # the new prompt is being read
    voice_end = await speak_in_real_time(client, np.concatenate([voice(700), silence(1500)]))
    await client.wait_for("input_audio_buffer.speech_stopped", 10)
    done = await client.wait_for("response.done", 10)
    assert done["response"]["status"] == "completed"
    client.put(None)
    await asyncio.wait_for(served, 5)
    return voice_end, client.arrived["input_audio_buffer.speech_stopped"], llm, scores


async def test_server_vad_ends_the_turn_at_the_silence_window_whatever_the_llm_does():
    voice_end, stopped_at, llm, _ = await a_turn_while_reading(
        {"type": "server_vad", "silence_duration_ms": 500})
    # The window is 500 ms of silence, heard in 32 ms VAD frames: then it is said.
    assert stopped_at - voice_end < 0.5 + 0.032 + 0.1, stopped_at - voice_end
    assert llm.read_done and llm.read_done[0] > stopped_at  # the read was still going


async def test_a_semantic_vad_score_is_not_queued_behind_the_read():
    voice_end, stopped_at, llm, scores = await a_turn_while_reading(
        {"type": "semantic_vad", "eagerness": "high"})
    # Scored in the midst of the read, not after it: the turn ends at the pause (the
    # transcript, one chunk of the read, the score) while the read goes on.
    assert scores.at and scores.at[0] < llm.read_done[0]
    assert stopped_at < llm.read_done[0]
    assert stopped_at - voice_end < 1.0, stopped_at - voice_end
