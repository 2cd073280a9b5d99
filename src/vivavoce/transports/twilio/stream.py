"""One phone call's Media Stream as the runner sees it: a `Transport` whose client input
is the caller's audio (μ-law 8 kHz → int16 24 kHz), what the line has proven played, and
key presses as text; and an `AudioPlayer` that sends the assistant's voice back as
20 ms `media` frames, paced close to real time with a small lead, so that a `clear`
still stops it.

The stream holds no conversation logic: it flushes on `output_audio_buffer.cleared`
(barge-in) and tells Twilio to `clear`, reports what the echoed marks prove was heard,
and hangs up when the `end_call` tool asked for it and its goodbye has played. A
message it cannot use is logged and skipped; the call goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from starlette.websockets import WebSocket, WebSocketDisconnect

from vivavoce.audio.formats import FORMATS, Decoder
from vivavoce.runtime.inbox import CallSide
from vivavoce.tools.phone import HANG_UP
from vivavoce.transports.twilio import messages
from vivavoce.transports.twilio.keypad import Keypad
from vivavoce.transports.twilio.line import PhoneLine
from vivavoce.types import Event, InputAudio

log = logging.getLogger(__name__)

FRAME_S = 0.02
# How far ahead of the caller's ear the frames are sent: enough to ride out jitter,
# little enough that what `clear` must stop is short.
LEAD_S = 0.08
# Caller audio waiting for the session (20 ms each): past this it is dropped.
MAX_INBOX = 1500
# Tool state of a session, by its id (None once it has closed).
ToolState = Callable[[str], dict[str, Any] | None]


class TwilioStream(CallSide):
    def __init__(self, websocket: WebSocket, start: messages.Start, tool_state: ToolState,
                 keypad: Keypad | None = None, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        super().__init__()
        self.websocket = websocket
        self.stream_sid = start.stream_sid
        self.call_sid = start.call_sid
        self.session_id: str | None = None
        self.session_opened = asyncio.Event()  # (the call registry's `HeldCall`)
        self.bad_messages = 0
        self._tool_state = tool_state
        self._clock = clock
        self._line = PhoneLine()
        self._decoder = Decoder(FORMATS["audio/pcmu"])
        self._keypad = keypad or Keypad()
        self._keypad_timer: asyncio.TimerHandle | None = None
        self._responding: str | None = None  # the response in progress
        self._queued = asyncio.Event()  # audio for the speaker
        self._due = 0.0  # when the caller hears the next frame to send
        self._write_lock = asyncio.Lock()

    def open(self) -> None:
        """Start reading the stream and speaking on it."""
        self._tasks.spawn(self._read())
        self._tasks.spawn(self._speak())

    # ------------------------------------------------------------------ Transport
    async def send(self, event: Event) -> None:
        type_ = event["type"]
        if type_ == "session.created":
            self.session_id = event["session"]["id"]
            self.session_opened.set()
        elif type_ == "response.created":
            self._responding = event["response"]["id"]
        elif type_ == "response.done":
            self._responding = None
            if not any(o.get("type") == "function_call" for o in event["response"]["output"]):
                self._hang_up_if_asked()
        elif type_ == "output_audio_buffer.stopped":
            self._hang_up_if_asked()
        elif type_ == "response.output_audio.done":
            self._line.end_item(event["response_id"], event["item_id"])
            self._queued.set()
        elif type_ == "output_audio_buffer.cleared":
            await self._clear()
        elif type_ == "error":
            log.warning("call %s: %s", self.call_sid, event["error"].get("message"))

    # ---------------------------------------------------------------- AudioPlayer
    async def play(self, response_id: str, item_id: str, pcm: np.ndarray) -> None:
        self._line.push(response_id, item_id, pcm)
        self._queued.set()

    # ------------------------------------------------------------------ the call
    async def close(self) -> None:
        self.end("closed")
        if self._keypad_timer is not None:
            self._keypad_timer.cancel()
        await self._tasks.cancel()
        with contextlib.suppress(Exception):  # already closed by the caller
            await self.websocket.close(1000)

    async def _write(self, text: str) -> None:
        async with self._write_lock:
            await self.websocket.send_text(text)

    # ------------------------------------------------------------------ from Twilio
    async def _read(self) -> None:
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                self._take(message.get("text") if "text" in message else message.get("bytes"))
        except (WebSocketDisconnect, RuntimeError):
            pass
        self.end("the stream closed")

    def _take(self, raw: str | bytes | None) -> None:
        try:
            message = messages.parse(raw or "", self.stream_sid)
        except messages.BadMessage as err:
            self.bad_messages += 1
            log.warning("call %s: skipped a message: %s", self.call_sid, err)
            return
        if isinstance(message, messages.Media):
            self._heard(message.payload)
        elif isinstance(message, messages.MarkPlayed):
            report = self._line.echoed(message.name)
            if report is not None:
                self._inbox.put(report)
        elif isinstance(message, messages.Digit):
            self._key(message.digit)
        elif isinstance(message, messages.Stop):
            self.end("the caller hung up")
        else:
            self.bad_messages += 1
            log.warning("call %s: skipped a second %s", self.call_sid, type(message).__name__)

    def _heard(self, payload: bytes) -> None:
        pcm = self._decoder.decode(payload)
        if self._inbox.qsize() >= MAX_INBOX:
            log.warning("call %s: the session is behind; caller audio dropped", self.call_sid)
        elif len(pcm):
            self._inbox.put(InputAudio(pcm))

    def _key(self, key: str) -> None:
        if self._keypad_timer is not None:
            self._keypad_timer.cancel()
            self._keypad_timer = None
        words = self._keypad.press(key, self._clock())
        if words is not None:
            self._typed(words)
        elif self._keypad.due is not None:
            self._keypad_timer = asyncio.get_running_loop().call_later(
                self._keypad.due - self._clock(), self._keypad_paused)

    def _keypad_paused(self) -> None:
        self._keypad_timer = None
        words = self._keypad.tick(self._clock())
        if words is not None:
            self._typed(words)

    def _typed(self, words: str) -> None:
        """Keys pressed, as the caller's words: like speaking, they cut the answer short."""
        if self._responding is not None or self._line.playing:
            self._inbox.put({"type": "output_audio_buffer.clear"})
        self._inbox.put({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": words}]}})
        self._inbox.put({"type": "response.create"})

    # ------------------------------------------------------------------ to Twilio
    async def _speak(self) -> None:
        """Send the queued voice frame by frame, each `LEAD_S` at most before it is due."""
        while True:
            await self._queued.wait()
            self._queued.clear()
            while not self._line.idle:
                now = self._clock()
                self._due = max(self._due, now)
                if self._due - now > LEAD_S:
                    await asyncio.sleep(self._due - now - LEAD_S)
                    continue
                payload, marks = self._line.frame()
                await self._write(messages.media(self.stream_sid, payload))
                for name in marks:
                    await self._write(messages.mark(self.stream_sid, name))
                self._due += FRAME_S

    async def _clear(self) -> None:
        cut = self._line.clear()
        self._due = 0.0  # Twilio's buffer is empty: the next frame plays at once
        if cut is not None:
            await self._write(messages.clear(self.stream_sid))
            self._inbox.put(cut)

    def _hang_up_if_asked(self) -> None:
        state = self._tool_state(self.session_id) if self.session_id else None
        reason = (state or {}).get(HANG_UP)
        if reason and self._responding is None and not self._line.playing:
            log.info("call %s: hanging up (%s)", self.call_sid, reason)
            self.end(f"hung up: {reason}")
