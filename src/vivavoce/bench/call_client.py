"""A WebRTC caller in Python (aiortc), as a browser would call: an SDP offer to
`POST /v1/realtime/calls`, a microphone track, the `oai-events` data channel, and the
assistant's voice on the incoming track, each frame timed as it arrives.

The bench uses it to measure what a caller hears; tests use it for the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from vivavoce.bench.prompts import SPEECH_LEVEL
from vivavoce.bench.waiting import until
from vivavoce.runtime.playback import Playback
from vivavoce.transports.webrtc.calls import ice_configuration
from vivavoce.transports.webrtc.media import (
    MicReader,
    SpeakerTrack,
    buffer_audio,
    listener_buffer,
)
from vivavoce.types import Played


@dataclass
class Heard:
    at: float  # monotonic, when the frame arrived
    pcm: np.ndarray  # int16, 24 kHz

    @property
    def loud(self) -> bool:
        return bool(len(self.pcm)) and int(np.abs(self.pcm.astype(np.int32)).max()) > \
            SPEECH_LEVEL


class CallClient:
    def __init__(self) -> None:
        self.pc = RTCPeerConnection(ice_configuration([]))
        self.channel = self.pc.createDataChannel("oai-events")
        self.events: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
        self.log: list[dict[str, Any]] = []  # every server event, in order
        self.sent: list[dict[str, Any]] = []  # every client event sent
        self.heard: list[Heard] = []  # the assistant's voice, frame by frame
        self.call_id: str | None = None
        self._mic = Playback()
        self._said = itertools.count()
        self._started: dict[str, float] = {}  # utterance → when its first frame went out
        self.pc.addTrack(SpeakerTrack(self._mic, self._on_mic_frame))
        self._opened = asyncio.Event()
        self.channel.on("open", self._opened.set)
        self.channel.on("message", self._on_message)
        self.pc.on("track", self._on_track)
        self._tasks: list[asyncio.Task[None]] = []

    async def call(self, base_url: str, *, token: str | None = None,
                   session: dict[str, Any] | None = None, query: str = "",
                   headers: dict[str, str] | None = None) -> httpx.Response:
        """Offer, POST it (raw SDP, or a form with `session`), take the answer; returns the
        HTTP response (the call is up once it is 201)."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = self.pc.localDescription.sdp
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        url = f"{base_url}/v1/realtime/calls{query}"
        async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
            if session is None:
                sent.setdefault("Content-Type", "application/sdp")
                reply = await http.post(url, content=offer, headers=sent)
            else:
                reply = await http.post(url, headers=sent, files={
                    "sdp": (None, offer), "session": (None, json.dumps(session))})
        if reply.status_code == 201:
            self.call_id = reply.headers["location"].rsplit("/", 1)[-1]
            await self.pc.setRemoteDescription(RTCSessionDescription(reply.text, "answer"))
            await asyncio.wait_for(self._opened.wait(), 15)
        return reply

    def send(self, event: dict[str, Any]) -> None:
        self.sent.append(event)
        self.channel.send(json.dumps(event))

    def say(self, pcm: np.ndarray) -> str:
        """Queue speech (int16, 24 kHz) on the microphone; its name, for `started_at`."""
        name = f"utterance_{next(self._said)}"
        self._mic.push(name, name, pcm)
        self._mic.end_item(name, name)
        return name

    async def started_at(self, name: str, timeout: float = 30.0) -> float:
        """When the utterance's first frame was sent."""
        return await until(lambda: self._started.get(name), timeout)

    async def next(self, match: str | Any, timeout: float = 60.0) -> tuple[float, dict[str, Any]]:
        """The next server event of a type (or matching a predicate); when it came."""
        predicate = (lambda e: e["type"] == match) if isinstance(match, str) else match

        async def find() -> tuple[float, dict[str, Any]]:
            while True:
                at, event = await self.events.get()
                if predicate(event):
                    return at, event
        return await asyncio.wait_for(find(), timeout)

    async def wait_for(self, predicate: Any, timeout: float = 60.0,
                       after: int = 0) -> dict[str, Any]:
        """The first server event in the log from index `after` on that matches."""
        async def poll() -> dict[str, Any]:
            while not (found := [e for e in self.log[after:] if predicate(e)]):
                await asyncio.sleep(0.005)
            return found[0]
        return await asyncio.wait_for(poll(), timeout)

    def loud_since(self, since: float) -> list[Heard]:
        return [h for h in self.heard if h.at >= since and h.loud]

    def voice(self, since: float = 0.0) -> np.ndarray:
        """The assistant's voice heard since then (int16, 24 kHz)."""
        chunks = [h.pcm for h in self.heard if h.at >= since]
        return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pc.close()

    # ------------------------------------------------------------------ callbacks
    def _on_message(self, message: str | bytes) -> None:
        event = json.loads(message)
        self.log.append(event)
        self.events.put_nowait((time.monotonic(), event))

    def _on_mic_frame(self, pcm: np.ndarray, reports: list[Played]) -> None:
        for report in reports:
            if report.state == "playing":
                self._started[report.response_id] = time.monotonic()

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            # A browser's receiver, not aiortc's 80 ms default: what a caller would hear.
            buffer_audio(self.pc, track, listener_buffer())
            self._tasks.append(asyncio.ensure_future(self._listen(track)))

    async def _listen(self, track: MediaStreamTrack) -> None:
        reader = MicReader()
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                self.heard.append(Heard(time.monotonic(), reader.convert(frame)))
