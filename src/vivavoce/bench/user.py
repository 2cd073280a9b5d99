"""One simulated user: speaks prompts into a live session in real time, timing the answers.

Times are wall-clock on the bench's side. A prompt's "end of speech" is when
its last loud sample was sent, which in real-time streaming is when the user
stopped talking. An answer is heard when its first loud sample plays, not when the
delta carrying it arrives: silence ahead of the voice is waited through too.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import websockets

from vivavoce.audio.formats import INTERNAL_RATE
from vivavoce.bench.prompts import Prompt, loud_samples
from vivavoce.session.spans import SPANS_EVENT

CHUNK_MS = 40
CHUNK = 24 * CHUNK_MS
SILENCE = np.zeros(CHUNK, np.int16)
# After a cut-in, how long the rest of the prompt may take to get an answer of its own.
CUT_IN_WAIT_S = 15.0


@dataclass
class Turn:
    prompt: str
    status: str = "no response"
    ttfa_s: float | None = None  # end of speech → the answer's first loud sample plays
    heard: str = ""  # the server's transcript of the prompt
    answer: str = ""
    barge_in_s: float | None = None  # interrupting speech → last audio of the answer
    spans: dict[str, float] = field(default_factory=dict)  # server's, from speech end
    paused: bool = False  # the prompt pauses mid-sentence
    cut_in: bool = False  # an answer began before the user had finished


class Playback:
    """When a response's audio plays at the client, which starts playing at its first
    delta and, fed faster than real time, plays the samples back to back."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.samples = 0

    def first_loud(self, at: float, delta: str) -> float | None:
        """When this delta's first loud sample plays; None if it has none."""
        pcm = np.frombuffer(base64.b64decode(delta), "<i2")
        if self.started is None:
            self.started = at
        loud = loud_samples(pcm)
        if not len(loud):
            self.samples += len(pcm)
            return None
        return max(at, self.started + (self.samples + int(loud[0])) / INTERNAL_RATE)


class User:
    def __init__(self, url: str, instructions: str | None = None,
                 turn_detection: dict[str, Any] | None = None,
                 tools: list[dict[str, Any]] | None = None) -> None:
        self.url = url
        self.instructions = instructions
        self.turn_detection = turn_detection
        self.tools = tools
        self.events: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
        self._mic: asyncio.Queue[np.ndarray] = asyncio.Queue()

    async def _read(self, ws) -> None:
        async for raw in ws:
            self.events.put_nowait((time.monotonic(), json.loads(raw)))

    async def _speak(self, ws) -> None:
        """A microphone: a 40 ms frame every 40 ms, silence when nothing is queued."""
        start = time.monotonic()
        sent = 0
        while True:
            frame = self._mic.get_nowait() if not self._mic.empty() else SILENCE
            await ws.send(json.dumps({"type": "input_audio_buffer.append",
                                      "audio": base64.b64encode(frame.tobytes()).decode()}))
            sent += 1
            await asyncio.sleep(max(0.0, start + sent * CHUNK_MS / 1000 - time.monotonic()))

    def say(self, prompt: Prompt) -> float:
        """Queue a prompt; returns when (monotonic) its speech will have ended."""
        backlog = self._mic.qsize() * CHUNK_MS / 1000
        for start in range(0, len(prompt.audio), CHUNK):
            frame = prompt.audio[start:start + CHUNK]
            self._mic.put_nowait(np.pad(frame, (0, CHUNK - len(frame))))
        return time.monotonic() + backlog + prompt.speech_end_s

    async def _next(self, type_: str, timeout: float) -> tuple[float, dict[str, Any]]:
        async def find():
            while True:
                at, event = await self.events.get()
                if event["type"] == type_:
                    return at, event
                self._seen(at, event)
        return await asyncio.wait_for(find(), timeout)

    def _seen(self, at: float, event: dict[str, Any]) -> None:
        """Hook for events skipped while waiting for another."""
        if event["type"] == "conversation.item.input_audio_transcription.completed":
            self._heard = event["transcript"]
        elif event["type"] == SPANS_EVENT:
            self._spans[event["response_id"]] = event["spans"]

    async def run(self, prompts: list[Prompt], barge_in: Prompt | None = None,
                  timeout: float = 120.0) -> list[Turn]:
        self._heard = ""
        self._spans: dict[str, dict[str, float]] = {}
        async with websockets.connect(f"{self.url}/v1/realtime?vivavoce_spans=1",
                                      max_size=None) as ws:
            reader = asyncio.create_task(self._read(ws))
            session: dict[str, Any] = {"type": "realtime", "audio": {
                "input": {"transcription": {"model": "whisper-1"}}}}
            if self.instructions:
                session["instructions"] = self.instructions
            if self.turn_detection:
                session["audio"]["input"]["turn_detection"] = self.turn_detection
            if self.tools:
                session["tools"] = self.tools
            await ws.send(json.dumps({"type": "session.update", "session": session}))
            await self._next("session.updated", timeout)
            mic = asyncio.create_task(self._speak(ws))
            turns = []
            try:
                for prompt in prompts:
                    turns.append(await self._turn(prompt, barge_in, timeout))
            finally:
                mic.cancel()
                reader.cancel()
        return turns

    async def _turn(self, prompt: Prompt, barge_in: Prompt | None, timeout: float) -> Turn:
        """One prompt and everything it sets going, tool calls and their answers included."""
        turn = Turn(prompt.text, paused=bool(prompt.pauses))
        self._heard = ""
        speech_end = self.say(prompt)
        at, created = await self._next("response.created", timeout)
        while at < speech_end:
            # The turn was ended at a pause: that answer is cut off when the voice comes
            # back, and the rest of the prompt gets an answer of its own, timed as usual.
            turn.cut_in = True
            try:
                at, created = await self._next(
                    "response.created", max(0.0, speech_end - time.monotonic()) + CUT_IN_WAIT_S)
            except TimeoutError:  # the rest got no answer of its own: untimed
                await asyncio.sleep(0.5)
                return turn
        response_id = created["response"]["id"]
        playback = Playback()
        while True:
            at, event = await asyncio.wait_for(self.events.get(), timeout)
            self._seen(at, event)
            kind = event["type"]
            if kind == "response.output_audio.delta" and turn.ttfa_s is None \
                    and event["response_id"] == response_id \
                    and (heard := playback.first_loud(at, event["delta"])) is not None:
                turn.ttfa_s = heard - speech_end
                if barge_in is not None:
                    return await self._barge_in(turn, response_id, barge_in, timeout)
            if kind == "response.done" and event["response"]["id"] == response_id:
                # The bench declares no tools: a call is a server tool, and its
                # answer comes in a response of its own.
                if event["response"]["status"] == "completed" and any(
                        item["type"] == "function_call" for item in event["response"]["output"]):
                    _, created = await self._next("response.created", timeout)
                    response_id = created["response"]["id"]
                    playback = Playback()
                    continue
                break
        turn.status = event["response"]["status"]
        turn.answer = _transcript(event["response"])
        turn.heard = self._heard
        await self._settle(turn, response_id)
        return turn

    async def _barge_in(self, turn: Turn, response_id: str, prompt: Prompt,
                        timeout: float) -> Turn:
        """Talk over the answer; time until its audio stops arriving."""
        speech_start = self.say(prompt) - prompt.speech_end_s + _speech_start(prompt)
        last_audio = None
        while True:
            at, event = await asyncio.wait_for(self.events.get(), timeout)
            self._seen(at, event)
            if event["type"] == "response.output_audio.delta" \
                    and event["response_id"] == response_id:
                last_audio = at
            if event["type"] == "response.done" and event["response"]["id"] == response_id:
                break
        turn.status = event["response"]["status"]
        turn.answer = _transcript(event["response"])
        # 0 when the whole answer had already been sent before the user spoke.
        turn.barge_in_s = max(0.0, (last_audio or speech_start) - speech_start)
        # Let the interruption's own answer finish before the next prompt.
        _, created = await self._next("response.created", timeout)
        while True:
            at, event = await asyncio.wait_for(self.events.get(), timeout)
            self._seen(at, event)
            if event["type"] == "response.done" and \
                    event["response"]["id"] == created["response"]["id"]:
                break
        await self._settle(turn, response_id)
        return turn

    async def _settle(self, turn: Turn, response_id: str) -> None:
        """Collect the server's spans for the turn (sent right after response.done)."""
        deadline = time.monotonic() + 2.0
        while response_id not in self._spans and time.monotonic() < deadline:
            try:
                at, event = await asyncio.wait_for(self.events.get(), 0.2)
                self._seen(at, event)
            except TimeoutError:
                continue
        turn.spans = self._spans.get(response_id, {})
        # A pause between turns, as people leave.
        await asyncio.sleep(0.5)


def _speech_start(prompt: Prompt) -> float:
    loud = loud_samples(prompt.audio)
    return loud[0] / INTERNAL_RATE if len(loud) else 0.0


def _transcript(response: dict[str, Any]) -> str:
    for item in response.get("output") or []:
        for part in item.get("content") or []:
            text = part.get("transcript") or part.get("text")
            if text:
                return text
    return ""


async def idle_mic(url: str, stop: asyncio.Event) -> bool:
    """An open microphone nobody speaks into: quiet room noise in real time until `stop`.
    False if the server dropped the session meanwhile."""
    noise = (np.random.default_rng(7).normal(0, 20, CHUNK)).astype(np.int16)
    frame = json.dumps({"type": "input_audio_buffer.append",
                        "audio": base64.b64encode(noise.tobytes()).decode()})
    try:
        async with websockets.connect(f"{url}/v1/realtime", max_size=None) as ws:
            reader = asyncio.create_task(_discard(ws))
            start = time.monotonic()
            sent = 0
            while not stop.is_set() and not reader.done():
                await ws.send(frame)
                sent += 1
                await asyncio.sleep(max(0.0, start + sent * CHUNK_MS / 1000 - time.monotonic()))
            closed_by_server = reader.done()
            reader.cancel()
            return not closed_by_server
    except (OSError, websockets.ConnectionClosed):
        return False


async def _discard(ws) -> None:
    async for _ in ws:
        pass
