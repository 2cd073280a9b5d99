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
from aiortc.jitterbuffer import JitterBuffer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from vivavoce.audio.formats import INTERNAL_RATE
from vivavoce.runtime.playback import Playback

RTP_RATE = 48000  # Opus
FRAME_SAMPLES = 960  # 20 ms
# A speaker that fell this far behind its clock (a stalled loop) starts its clock anew
# rather than rushing out a burst of late frames.
MAX_LAG_S = 0.1


# aiortc holds an audio packet until 4 more have arrived (80 ms) before decoding it. On a
# call whose network is a LAN that is pure delay on every word the caller says, and on a
# barge-in it is 80 ms more of the assistant talking over them; one frame of reorder
# room is what a browser's jitter buffer keeps on such a link.
JITTER_PREFETCH = 1


def hold_less_audio(pc: RTCPeerConnection, track: MediaStreamTrack) -> None:
    """Give the receiver of `track` a jitter buffer that holds JITTER_PREFETCH frames
    (called from the `track` event, before any packet has arrived). aiortc offers no
    setting for it, hence its private attribute."""
    for receiver in pc.getReceivers():
        if receiver.track is track:
            receiver._RTCRtpReceiver__jitter_buffer = JitterBuffer(  # type: ignore[attr-defined]
                capacity=16, prefetch=JITTER_PREFETCH)


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
