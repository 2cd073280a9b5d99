"""One WebRTC call as the runner sees it: a `Transport` whose client events come on the
`oai-events` data channel and whose audio comes on the microphone track, and an
`AudioPlayer` that plays the assistant's voice on the outgoing track itself.

Server events go out on the data channel, except audio (it is RTP); those sent before the
channel opens wait for it. No message is larger than the peer said it accepts (its SCTP
max-message-size): an event that would be is refused with `TooLarge`, before anything of
it is sent, and the runner's outbound path decides what to send instead. The call keeps
no conversation state: what it played goes
back to the session as `Played` reports, and it flushes its playback when the session
says `output_audio_buffer.cleared`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

import numpy as np
from aiortc import RTCDataChannel, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import SessionDescription

from vivavoce.audio.echo import EchoGate
from vivavoce.protocol import beta
from vivavoce.protocol.errors import ProtocolError, parse_event
from vivavoce.runtime.inbox import CallSide
from vivavoce.runtime.outbound import TooLarge
from vivavoce.runtime.playback import Playback
from vivavoce.transports.webrtc.media import (
    FRAME_SAMPLES,
    RTP_RATE,
    ListeningBuffer,
    MicReader,
    SpeakerTrack,
    buffer_audio,
)
from vivavoce.types import ClientInput, Event, InputAudio, Played

log = logging.getLogger(__name__)

EVENTS_CHANNEL = "oai-events"
# A call whose peer has not connected by then is given up.
CONNECT_TIMEOUT_S = 30.0
# How long a call the server ends waits for its last words (why) to reach the caller.
FAREWELL_S = 5.0
# Events held for a data channel not open yet, and unsent bytes on an open one: past
# these the client is not reading, and the call ends rather than buffer without end.
MAX_PENDING_EVENTS = 5000
MAX_CHANNEL_BUFFER = 16 * 1024 * 1024
# Microphone frames waiting for the session (20 ms each): past this they are dropped.
MAX_INBOX = 1500
# What a peer that names no max-message-size accepts (RFC 8841, 6.1).
DEFAULT_MAX_MESSAGE_SIZE = 65536
APPEND_REFUSED = ("On a WebRTC call the microphone audio goes over the media track: "
                  "input_audio_buffer.append is not accepted on the data channel.")


class WebRTCCall(CallSide):
    def __init__(self, call_id: str, pc: RTCPeerConnection, dialect_beta: bool = False) -> None:
        super().__init__()
        self.id = call_id
        self.pc = pc
        self.beta = dialect_beta
        self.session_id: str | None = None
        self.session_opened = asyncio.Event()
        self._channel: RTCDataChannel | None = None
        self._pending: list[str] = []
        self._max_message: int | None = None  # the peer's, once its offer is read
        self._playback = Playback(RTP_RATE, FRAME_SAMPLES)
        self._echo = EchoGate()
        self.speaker = SpeakerTrack(self._playback, self._on_frame)
        self._connected = asyncio.Event()
        pc.on("datachannel", self._on_datachannel)
        pc.on("track", self._on_track)
        pc.on("connectionstatechange", self._on_state)
        self._tasks.spawn(self._give_up_unless_connected())

    # ------------------------------------------------------------------ Transport
    async def send(self, event: Event) -> None:
        type_ = event["type"]
        if type_ == "session.created" and self.session_id is None:
            self.session_id = event["session"]["id"]
            self.session_opened.set()
        elif type_ == "output_audio_buffer.cleared":
            cut = self._playback.clear()
            if cut is not None:
                self._inbox.put(cut)
        elif type_ == "response.output_audio.done":
            self._playback.end_item(event["response_id"], event["item_id"])
        out = beta.server_to_beta(event) if self.beta else event
        if out is None:
            return
        text = json.dumps(out)  # ASCII: its length is its size in bytes
        limit = self.max_message_size
        if limit and len(text) > limit:
            raise TooLarge(len(text), limit)
        self._send_text(text)

    @property
    def max_message_size(self) -> int:
        """The largest message the peer accepts on a data channel (0: any size)."""
        if self._max_message is None:
            offer = self.pc.remoteDescription
            if offer is None:  # not negotiated yet: what any peer accepts
                return DEFAULT_MAX_MESSAGE_SIZE
            self._max_message = remote_max_message_size(offer.sdp)
        return self._max_message

    # ---------------------------------------------------------------- AudioPlayer
    async def play(self, response_id: str, item_id: str, pcm: np.ndarray) -> None:
        self._playback.push(response_id, item_id, pcm)

    # ------------------------------------------------------------------ the call
    async def say_ended(self, reason: str) -> None:
        """The server ended the call's session: tell the caller why, as an `error` with
        the code `session_ended` (a data channel closes without a reason), and give it
        a moment to arrive (the channel may not even be open yet)."""
        await self.send(ProtocolError("session_ended", reason).to_event())

        def delivered() -> bool:  # or never will be: the caller is gone
            channel = self._channel
            if self.pc.connectionState in ("failed", "closed"):
                return True
            if channel is None or channel.readyState == "connecting":
                return False
            return channel.readyState != "open" or (not self._pending
                                                    and channel.bufferedAmount == 0)

        deadline = time.monotonic() + FAREWELL_S
        while not delivered() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        self.end("closed")
        self.speaker.stop()
        await self._tasks.cancel()
        await self.pc.close()

    def _send_text(self, text: str) -> None:
        channel = self._channel
        if channel is None or channel.readyState != "open":
            if len(self._pending) >= MAX_PENDING_EVENTS:
                self.end("the client never opened its event channel")
            else:
                self._pending.append(text)
            return
        if channel.bufferedAmount > MAX_CHANNEL_BUFFER:
            self.end("the client is not reading its events")
            return
        channel.send(text)

    async def _give_up_unless_connected(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), CONNECT_TIMEOUT_S)
            return
        self.end("the peer never connected")

    def _on_state(self) -> None:
        state = self.pc.connectionState
        if state == "connected":
            self._connected.set()
        elif state in ("failed", "closed"):
            self.end(f"connection {state}")

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        if channel.label != EVENTS_CHANNEL:
            log.info("call %s: ignoring data channel %r", self.id, channel.label)
            return
        self._channel = channel
        channel.on("message", self._on_message)
        channel.on("close", lambda: self.end("the event channel closed"))
        if channel.readyState == "open":
            self._flush_pending()
        else:
            channel.on("open", self._flush_pending)

    def _flush_pending(self) -> None:
        pending, self._pending = self._pending, []
        for text in pending:
            self._send_text(text)

    def _on_message(self, message: str | bytes) -> None:
        self._inbox.put(self._client_event(message))

    def _client_event(self, message: str | bytes) -> ClientInput:
        if not isinstance(message, str):
            return ProtocolError("invalid_event",
                                 "Binary messages are not supported; send JSON text events.")
        try:
            event = parse_event(message)
        except ProtocolError as err:
            return err
        if event.get("type") == "input_audio_buffer.append":
            event_id = event.get("event_id")
            return ProtocolError("invalid_event", APPEND_REFUSED, "type",
                                 client_event_id=event_id if isinstance(event_id, str) else None)
        return beta.client_to_ga(event) if self.beta else event

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            buffer_audio(self.pc, track, ListeningBuffer())
            self._tasks.spawn(self._listen(track))

    async def _listen(self, track: MediaStreamTrack) -> None:
        """The caller's microphone, frame by frame, to the session."""
        mic = MicReader()
        dropped = 0
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            pcm = self._echo.gate(mic.convert(frame), time.monotonic())
            if self._inbox.qsize() >= MAX_INBOX:
                dropped += 1
                if dropped % 250 == 1:
                    log.warning("call %s: the session is behind; microphone audio dropped",
                                self.id)
                continue
            if len(pcm):
                self._inbox.put(InputAudio(pcm))

    def _on_frame(self, pcm: np.ndarray, reports: list[Played]) -> None:
        if pcm.any():
            self._echo.played(pcm, time.monotonic())
        for report in reports:
            self._inbox.put(report)


def remote_max_message_size(sdp: str) -> int:
    """The max-message-size a peer's SDP gives its data channels (0: any size)."""
    for media in SessionDescription.parse(sdp).media:
        if media.kind == "application" and media.sctpCapabilities is not None:
            return media.sctpCapabilities.maxMessageSize
    return DEFAULT_MAX_MESSAGE_SIZE
