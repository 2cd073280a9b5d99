"""Twilio, simulated: the far side of a phone call as Twilio's Media Streams protocol has
it, for tests and the bench (the real Twilio cannot reach a test machine).

It dials as Twilio does (the voice webhook, signed with the auth token, answered with
TwiML), opens the `<Stream>` it names with the `<Parameter>`s it lists, and then is the
caller's phone: `connected` and `start`, the caller's voice as base64 μ-law `media`
every 20 ms in real time (silence when the caller is quiet), key presses as `dtmf`,
`stop` to hang up. What the server sends it plays at real-time pace; a `mark` is echoed
only once the audio before it has played, and `clear` drops what is unplayed and echoes
the pending marks at once, as Twilio does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import secrets
import time
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import websockets
from twilio.request_validator import RequestValidator

from vivavoce.audio import g711
from vivavoce.audio.formats import INTERNAL_RATE
from vivavoce.audio.resample import resample
from vivavoce.bench.prompts import SPEECH_LEVEL
from vivavoce.bench.waiting import until

FRAME_S = 0.02
FRAME_BYTES = 160
SILENT = g711.ulaw_encode(np.zeros(FRAME_BYTES, np.int16))


@dataclass
class Frame:
    at: float  # monotonic: when it arrived (received) or was heard (played)
    payload: bytes  # 20 ms of μ-law

    @property
    def loud(self) -> bool:
        return int(np.abs(g711.ulaw_decode(self.payload).astype(np.int32)).max()) > SPEECH_LEVEL


@dataclass
class Echo:
    name: str
    at: float
    played: bool  # False: echoed by a `clear`, unplayed


def pcm_of(frames: list[Frame]) -> np.ndarray:
    """Frames as int16 at 24 kHz (to transcribe what was heard)."""
    if not frames:
        return np.zeros(0, np.int16)
    pcm = g711.ulaw_decode(b"".join(f.payload for f in frames))
    return resample(pcm, 8000, INTERNAL_RATE).astype(np.int16)


def ulaw_frames(pcm: np.ndarray) -> list[bytes]:
    """int16 24 kHz speech → 20 ms μ-law frames at 8 kHz, the last padded with silence."""
    data = g711.ulaw_encode(resample(pcm, INTERNAL_RATE, 8000).astype(np.int16))
    if len(data) % FRAME_BYTES:
        data += SILENT[:FRAME_BYTES - len(data) % FRAME_BYTES]
    return [data[i:i + FRAME_BYTES] for i in range(0, len(data), FRAME_BYTES)]


class PhoneSimulator:
    def __init__(self, base_url: str, auth_token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")  # http://host:port
        self.auth_token = auth_token
        self.call_sid = "CA" + secrets.token_hex(16)
        self.stream_sid = "MZ" + secrets.token_hex(16)
        self.stream_url: str | None = None
        self.parameters: dict[str, str] = {}
        self.received: list[Frame] = []  # the server's media, as it arrived
        self.played: list[Frame] = []  # ...and as it was heard
        self.echoes: list[Echo] = []
        self.clears: list[float] = []  # when each `clear` came
        self.closed = asyncio.Event()  # the server closed the stream
        self.close_code: int | None = None
        self._ws: Any = None
        self._mic: deque[bytes] = deque()
        self._said: dict[str, float] = {}  # utterance → when its first frame went out
        self._starts: dict[str, int] = {}  # utterance → its first frame's number
        self._taken = 0  # frames of speech sent so far
        self._names = itertools.count()
        self._sequence = itertools.count(1)
        self._speaker: deque[bytes | str] = deque()  # frames and marks to play, in order
        self._arrived = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._due = 0.0  # when the earpiece plays its next frame
        self._send_lock = asyncio.Lock()

    # ------------------------------------------------------------------ dialling
    async def dial(self, query: str = "", signature: str | None = None,
                   **form: str) -> httpx.Response:
        """The voice webhook, as Twilio calls it when the number rings; on success the
        TwiML's stream URL and parameters are kept for `connect`."""
        params = {"CallSid": self.call_sid, "AccountSid": "AC" + "0" * 32, "From": "+15550100",
                  "To": "+15550199", "CallStatus": "ringing", "Direction": "inbound", **form}
        url = f"{self.base_url}/v1/telephony/twilio/voice{query}"
        headers = {}
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        elif self.auth_token:
            headers["X-Twilio-Signature"] = RequestValidator(self.auth_token) \
                .compute_signature(url, params)
        async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
            reply = await http.post(url, data=params, headers=headers)
        if reply.status_code == 200:
            stream = ET.fromstring(reply.text).find("./Connect/Stream")
            assert stream is not None, reply.text
            self.stream_url = stream.get("url")
            self.parameters = {p.get("name", ""): p.get("value", "")
                               for p in stream.findall("Parameter")}
        return reply

    async def connect(self, parameters: dict[str, str] | None = None,
                      url: str | None = None) -> None:
        """Open the stream (`connected`, `start`) and start talking and listening."""
        target = url or self.stream_url or f"{self.base_url.replace('http', 'ws', 1)}" \
            "/v1/telephony/twilio"
        self._ws = await websockets.connect(target, max_size=None)
        await self.send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        await self.send({"event": "start", "sequenceNumber": str(next(self._sequence)),
                         "streamSid": self.stream_sid, "start": {
                             "accountSid": "AC" + "0" * 32, "streamSid": self.stream_sid,
                             "callSid": self.call_sid, "tracks": ["inbound", "outbound"],
                             "customParameters": self.parameters if parameters is None
                             else parameters,
                             "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000,
                                             "channels": 1}}})
        for work in (self._talk(), self._listen(), self._play()):
            self._spawn(work)

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def send(self, message: dict[str, Any] | str) -> None:
        """One message on the stream (a dict as JSON; a str as it is, for bad frames)."""
        async with self._send_lock:
            await self._ws.send(message if isinstance(message, str) else json.dumps(message))

    # ------------------------------------------------------------------ the caller
    def say(self, pcm: np.ndarray) -> str:
        """Queue speech (int16, 24 kHz) after what the caller is saying; its name."""
        name = f"utterance_{next(self._names)}"
        self._starts[name] = self._taken + len(self._mic)
        self._mic.extend(ulaw_frames(pcm))
        return name

    async def started_at(self, name: str, timeout: float = 30.0) -> float:
        """When the utterance's first frame was sent."""
        return await until(lambda: self._said.get(name), timeout)

    async def press(self, keys: str) -> None:
        for key in keys:
            await self.send({"event": "dtmf", "streamSid": self.stream_sid,
                             "sequenceNumber": str(next(self._sequence)),
                             "dtmf": {"track": "inbound_track", "digit": key}})

    async def hang_up(self) -> None:
        """`stop`, then the socket closes, as when the caller hangs up."""
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.send({"event": "stop", "sequenceNumber": str(next(self._sequence)),
                             "streamSid": self.stream_sid, "stop": {
                                 "accountSid": "AC" + "0" * 32, "callSid": self.call_sid}})
        await self.close()

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._ws is not None:
            await self._ws.close()

    # ------------------------------------------------------------------ what it heard
    def loud_since(self, since: float) -> list[Frame]:
        return [f for f in self.received if f.at >= since and f.loud]

    async def first_loud(self, since: float, timeout: float = 60.0) -> float:
        """When the first non-silent frame arrived after `since`."""
        return (await until(lambda: self.loud_since(since), timeout))[0].at

    async def quiet(self, for_s: float, timeout: float = 120.0) -> None:
        """Until nothing has arrived or played for `for_s`."""
        async def poll() -> None:
            while True:
                last = max([f.at for f in self.received[-1:] + self.played[-1:]], default=0.0)
                if not self._speaker and time.monotonic() - last >= for_s:
                    return
                await asyncio.sleep(0.05)
        await asyncio.wait_for(poll(), timeout)

    # ------------------------------------------------------------------ the wire
    async def _talk(self) -> None:
        """The caller's microphone: a frame every 20 ms, in real time."""
        start = time.monotonic()
        sent = 0
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                payload = SILENT
                if self._mic:
                    for name in [n for n, first in self._starts.items() if first == self._taken]:
                        self._said[name] = time.monotonic()
                        del self._starts[name]
                    payload = self._mic.popleft()
                    self._taken += 1
                await self.send({"event": "media", "sequenceNumber": str(next(self._sequence)),
                                 "streamSid": self.stream_sid, "media": {
                                     "track": "inbound", "chunk": str(sent + 1),
                                     "timestamp": str(sent * 20),
                                     "payload": base64.b64encode(payload).decode()}})
                sent += 1
                await asyncio.sleep(max(0.0, start + sent * FRAME_S - time.monotonic()))

    async def _listen(self) -> None:
        try:
            async for raw in self._ws:
                self._take(json.loads(raw))
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self._ws.close_code
            self.closed.set()

    def _take(self, message: dict[str, Any]) -> None:
        assert message.get("streamSid") == self.stream_sid, message
        event = message["event"]
        now = time.monotonic()
        if event == "media":
            data = base64.b64decode(message["media"]["payload"])
            for i in range(0, len(data), FRAME_BYTES):
                self.received.append(Frame(now, data[i:i + FRAME_BYTES]))
                self._speaker.append(data[i:i + FRAME_BYTES])
        elif event == "mark":
            self._speaker.append(message["mark"]["name"])
        elif event == "clear":
            self.clears.append(now)
            self._due = 0.0
            for entry in self._speaker:
                if isinstance(entry, str):
                    self._echo(entry, played=False)
            self._speaker.clear()
        else:
            raise AssertionError(f"Twilio takes no {event!r} message")
        self._arrived.set()

    def _echo(self, name: str, played: bool) -> None:
        self.echoes.append(Echo(name, time.monotonic(), played))
        message = {"event": "mark", "sequenceNumber": str(next(self._sequence)),
                   "streamSid": self.stream_sid, "mark": {"name": name}}
        self._spawn(self.send(message))

    async def _play(self) -> None:
        """The phone's earpiece: 20 ms per 20 ms; a mark is echoed once all before it played."""
        while True:
            if not self._speaker:
                self._arrived.clear()
                await self._arrived.wait()
                continue
            head = self._speaker[0]
            now = time.monotonic()
            if isinstance(head, str):
                await asyncio.sleep(max(0.0, self._due - now))  # the frame before it ends
                if self._speaker and self._speaker[0] is head:
                    self._echo(self._speaker.popleft(), played=True)  # type: ignore[arg-type]
                continue
            self._due = max(self._due, now)
            await asyncio.sleep(self._due - now)
            if self._speaker and self._speaker[0] is head:
                self.played.append(Frame(time.monotonic(), self._speaker.popleft()))
                self._due += FRAME_S
