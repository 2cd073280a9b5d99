"""The Realtime wire audio formats and their conversion to/from 24 kHz PCM16.

The session keeps all audio as int16 at 24 kHz internally; G.711 formats are
8 kHz on the wire and resampled at the edge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vivavoce.audio import g711
from vivavoce.audio.resample import StreamResampler

INTERNAL_RATE = 24000
# What the speech models listen at (Silero VAD, Whisper).
SPEECH_RATE = 16000


@dataclass(frozen=True)
class WireFormat:
    type: str  # "audio/pcm" | "audio/pcmu" | "audio/pcma"
    rate: int
    width: int  # bytes per sample
    decode: Callable[[bytes], np.ndarray]
    encode: Callable[[np.ndarray], bytes]

    @property
    def bytes_per_ms(self) -> int:
        return self.width * self.rate // 1000

    def internal_samples(self, nbytes: int) -> int:
        """How many samples at the internal rate `nbytes` of this format decode to."""
        return nbytes // self.width * INTERNAL_RATE // self.rate


def base64_bytes(text: str) -> int:
    """About how many bytes a base64 text holds (±2), without decoding it."""
    return len(text) * 3 // 4


def _pcm16_decode(data: bytes) -> np.ndarray:
    return np.frombuffer(data[: len(data) - len(data) % 2], dtype="<i2").astype(np.int16)


def _pcm16_encode(pcm: np.ndarray) -> bytes:
    return pcm.astype("<i2").tobytes()


FORMATS: dict[str, WireFormat] = {
    "audio/pcm": WireFormat("audio/pcm", 24000, 2, _pcm16_decode, _pcm16_encode),
    "audio/pcmu": WireFormat("audio/pcmu", 8000, 1, g711.ulaw_decode, g711.ulaw_encode),
    "audio/pcma": WireFormat("audio/pcma", 8000, 1, g711.alaw_decode, g711.alaw_encode),
}


class Decoder:
    """Wire bytes of one format → int16 at the internal rate, statefully."""

    def __init__(self, fmt: WireFormat) -> None:
        self.format = fmt
        self._resampler = StreamResampler(fmt.rate, INTERNAL_RATE)

    def decode(self, data: bytes) -> np.ndarray:
        return self._resampler.process(self.format.decode(data))


class Encoder:
    """int16 at the internal rate → wire bytes of one format, statefully."""

    def __init__(self, fmt: WireFormat) -> None:
        self.format = fmt
        self._resampler = StreamResampler(INTERNAL_RATE, fmt.rate)

    def encode(self, pcm: np.ndarray) -> bytes:
        return self.format.encode(self._resampler.process(pcm))


def duration_ms(samples: int, rate: int = INTERNAL_RATE) -> int:
    return samples * 1000 // rate
