"""The call's audio: the caller's microphone track in, at the session's rate, and the
assistant's voice out as a real-time track of 20 ms frames (silence when idle)."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import RtpPacket

from vivavoce.audio.formats import INTERNAL_RATE
from vivavoce.runtime.playback import Playback

RTP_RATE = 48000  # Opus
FRAME_SAMPLES = 960  # 20 ms
# A speaker that fell this far behind its clock (a stalled loop) starts its clock anew
# rather than rushing out a burst of late frames.
MAX_LAG_S = 0.1


# aiortc holds an audio packet until 4 more have arrived (80 ms) before decoding it, and
# even with no prefetch it releases a frame only once the next packet is in (its
# buffer is built for video frames spread over packets): 20 ms more on every word.
# A listener that plays what it hears (a browser, the bench's caller) wants a frame of
# reorder room; the server only listens, and takes that room only once a path has
# shown it reorders packets.
LISTENER_PREFETCH = 1
MAX_MISORDER = 100  # packets: a jump back this far is a restarted stream, not a late one


class ListeningBuffer:
    """aiortc's jitter-buffer interface, for audio the server listens to but never
    plays: every in-order packet (one Opus frame each) goes to the decoder the moment
    it arrives. The first packet that comes after a later one is dropped (a 20 ms gap
    the VAD and Whisper shrug off), and from then on the call keeps a browser's frame
    of reorder room: a path that reorders once will do it again."""

    def __init__(self) -> None:
        self._next: int | None = None  # the sequence number expected next
        self._reordering: JitterBuffer | None = None

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        if self._reordering is not None:
            return self._reordering.add(packet)
        seq = packet.sequence_number
        if self._next is not None:
            late = (self._next - seq) & 0xFFFF
            if late == 1:  # the packet just passed on, again
                return False, None
            if 1 < late < MAX_MISORDER:
                self._reordering = listener_buffer()
                return False, None
        self._next = (seq + 1) & 0xFFFF
        return False, JitterFrame(data=packet._data, timestamp=packet.timestamp)  # type: ignore[attr-defined]


def buffer_audio(pc: RTCPeerConnection, track: MediaStreamTrack,
                 buffer: JitterBuffer | ListeningBuffer) -> None:
    """Give the receiver of `track` this jitter buffer instead of aiortc's (called from
    the `track` event, before any packet has arrived). aiortc offers no setting for
    it, hence its private attribute."""
    for receiver in pc.getReceivers():
        if receiver.track is track:
            receiver._RTCRtpReceiver__jitter_buffer = buffer  # type: ignore[attr-defined]


def listener_buffer() -> JitterBuffer:
    """What a browser's receiver keeps on a LAN: one frame of reorder room."""
    return JitterBuffer(capacity=16, prefetch=LISTENER_PREFETCH)


class MicReader:
    """Frames of the remote audio track (48 kHz, often stereo) → int16 mono 24 kHz, with
    one stateful resampler for the whole call."""

    def __init__(self) -> None:
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=INTERNAL_RATE)

    def convert(self, frame: av.AudioFrame) -> np.ndarray:
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out).astype(np.int16) if out else np.zeros(0, np.int16)


class SpeakerTrack(MediaStreamTrack):
    """The assistant's voice, paced in real time: each frame is taken from `playback` at
    the moment it is due, so a flush takes effect within one frame."""

    kind = "audio"

    def __init__(self, playback: Playback,
                 on_frame: Callable[[np.ndarray, list], None]) -> None:
        super().__init__()
        self._playback = playback
        self._on_frame = on_frame  # (the frame, the playback's reports), as it goes out
        self._start: float | None = None
        self._pts = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None or now - (self._start + self._pts / RTP_RATE) > MAX_LAG_S:
            self._start = now - self._pts / RTP_RATE
        else:
            await asyncio.sleep(max(0.0, self._start + self._pts / RTP_RATE - now))
        pcm, reports = self._playback.frame()
        self._on_frame(pcm, reports)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RTP_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, RTP_RATE)
        self._pts += FRAME_SAMPLES
        return frame
