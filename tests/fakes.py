"""Scripted stand-ins for the models and the client side, for tests of the runner and the
driver that need no model: a VAD that hears any sound as speech, a brain that answers
from a script, and transports fed by the test.

They implement the same interfaces as the real parts (`VAD`, `Brain`, `Transport`,
`AudioPlayer`), so the code under test is the real runner, driver and session.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tests.validation import validate_ga
from vivavoce.brains.base import AudioOut, BrainOutput
from vivavoce.engines.base import LLMRequest, TextDelta
from vivavoce.engines.punctuation_end_of_turn import PunctuationEndOfTurn
from vivavoce.runtime import ClientInput, InputAudio
from vivavoce.session.spans import SPANS_EVENT
from vivavoce.store import ConversationLog
from vivavoce.types import ResponseRequest

LOUD = 3000


def voice(ms: int) -> np.ndarray:
    """What FakeVAD hears as speech: a steady tone at 24 kHz."""
    t = np.arange(24 * ms) / 24000
    return (np.sin(2 * np.pi * 220 * t) * LOUD).astype(np.int16)


def speech(text: str, ms: int = 500) -> AudioOut:
    """An assistant audio chunk saying `text`."""
    return AudioOut(voice(ms), text)


class _FakeVADStream:
    def probability(self, frame: np.ndarray) -> float:
        return 1.0 if float(np.abs(frame).mean()) > 0.01 else 0.0

    def reset(self) -> None:
        pass


class FakeVAD:
    """Speech is any sound, silence is silence: turns fall exactly where the test puts them."""

    sample_rate = 16000
    frame_samples = 512

    def stream(self) -> _FakeVADStream:
        return _FakeVADStream()


class Wait:
    """In a script: stop here until the test calls `go()` (the response stays open)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def go(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()


Step = BrainOutput | Exception | Wait
Script = list[Step]


@dataclass
class FakeBrain:
    """Answers each response with the next script in `scripts` (the last one repeats);
    an Exception in a script is raised there, a `Wait` holds the response open.

    It records what it was asked: `requests` (responses started), `finished` and
    `closed` (response ids whose output ran out, or that were stopped before),
    `prefills`, `transcribed` (seconds of audio) and `spoken` (fixed lines said, and
    at what speed)."""

    scripts: list[Script] = field(default_factory=lambda: [[TextDelta("Hello.")]])
    transcript: str | Callable[[np.ndarray], str] = "Hello."
    voices: list[str] = field(default_factory=lambda: ["fake"])
    requests: list[ResponseRequest] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    prefills: list[ResponseRequest] = field(default_factory=list)
    transcribed: list[float] = field(default_factory=list)
    spoken: list[str] = field(default_factory=list)
    spoken_speeds: list[float] = field(default_factory=list)

    async def transcribe(self, audio: np.ndarray, language: str | None,
                         prompt: str | None) -> str:
        self.transcribed.append(len(audio) / 24000)
        return self.transcript(audio) if callable(self.transcript) else self.transcript

    async def prefill(self, request: ResponseRequest) -> None:
        self.prefills.append(request)

    async def end_of_turn(self, said: str, context: ResponseRequest) -> float:
        return PunctuationEndOfTurn().probability(said, LLMRequest([]))

    async def respond(self, request: ResponseRequest) -> AsyncIterator[BrainOutput]:
        script = self.scripts[min(len(self.requests), len(self.scripts) - 1)]
        self.requests.append(request)
        try:
            for step in script:
                if isinstance(step, Exception):
                    raise step
                if isinstance(step, Wait):
                    await step.wait()
                    continue
                yield step
            self.finished.append(request.response_id)
        finally:
            if request.response_id not in self.finished:
                self.closed.append(request.response_id)

    async def speak(self, text: str, voice_name: str,
                    speed: float = 1.0) -> AsyncIterator[AudioOut]:
        self.spoken.append(text)
        self.spoken_speeds.append(speed)
        yield speech(text, 300)


class FakeTransport:
    """The client side of one connection, driven by the test: `put` what the client
    sends (an event, an InputAudio, None to leave); every server event it is sent is
    validated against the openai package's types and kept in `events`."""

    def __init__(self) -> None:
        self._inbox: asyncio.Queue[ClientInput | None] = asyncio.Queue()
        self.events: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()

    def put(self, item: ClientInput | None) -> None:
        self._inbox.put_nowait(item)

    def audio(self, pcm: np.ndarray, frame_ms: int = 40) -> None:
        """Microphone audio as raw frames (no JSON)."""
        step = 24 * frame_ms
        for start in range(0, len(pcm), step):
            self.put(InputAudio(pcm[start:start + step]))

    async def receive(self) -> ClientInput | None:
        return await self._inbox.get()

    async def send(self, event: dict[str, Any]) -> None:
        if event["type"] != SPANS_EVENT:
            validate_ga(event)
        self.events.append(event)
        self._arrived.set()

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == type_]

    async def wait_for(self, match: str | Callable[[dict[str, Any]], bool],
                       timeout: float = 5.0, after: int = 0) -> dict[str, Any]:
        """The first event from index `after` on that matches a type or a predicate."""
        predicate = (lambda e: e["type"] == match) if isinstance(match, str) else match

        async def find() -> dict[str, Any]:
            while True:
                for event in self.events[after:]:
                    if predicate(event):
                        return event
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(find(), timeout)


class FakePlayer(FakeTransport):
    """A transport that plays the assistant's audio itself (as WebRTC or a phone line)."""

    def __init__(self) -> None:
        super().__init__()
        self.played: list[tuple[str, str, np.ndarray]] = []

    async def play(self, response_id: str, item_id: str, pcm: np.ndarray) -> None:
        self.played.append((response_id, item_id, pcm))


def break_log_on_final_items(monkeypatch) -> None:
    """A bug where every item is finished: the conversation log raises, an unexpected
    failure inside the session's own publishing (the store's failures are the saver's,
    and expected)."""
    observe = ConversationLog.observe

    def failing(self: ConversationLog, event: dict) -> bool:
        if observe(self, event):
            raise RuntimeError("a bug in the conversation log")
        return False

    monkeypatch.setattr(ConversationLog, "observe", failing)


async def until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll `predicate` while the event loop runs the code under test."""
    async def poll() -> Any:
        while not (value := predicate()):
            await asyncio.sleep(0.005)
        return value

    return await asyncio.wait_for(poll(), timeout)


def settle(session, transcript: str = "Hello.", answer: str = "Hi there.") -> list[dict]:
    """Do at once what a runner would do for a sans-I/O session: transcribe what it asks,
    answer each response it starts (text, or a little speech), run its tools. Returns
    every event it emitted meanwhile, each validated like a client would see it."""
    from vivavoce.session.commands import Respond, RunTool, Transcribe

    seen: list[dict] = []
    while True:
        events, commands = session.drain()
        for event in events:
            if event["type"] != SPANS_EVENT:
                validate_ga(event)
                seen.append(event)
        if not commands:
            return seen
        for command in commands:
            if isinstance(command, Transcribe):
                session.transcription_done(command.item_id, transcript, 0.5)
            elif isinstance(command, Respond):
                rid = command.request.response_id
                if command.request.modalities == ["audio"]:
                    session.response_audio(rid, voice(200), answer)
                else:
                    session.response_text(rid, answer)
                session.response_finish(rid)
            elif isinstance(command, RunTool):
                session.tool_result(command.call_id, '{"ok": true}')
