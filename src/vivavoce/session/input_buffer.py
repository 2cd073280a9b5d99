"""The input audio buffer on the session's audio timeline (int16, 24 kHz)."""

from __future__ import annotations

import numpy as np

from vivavoce.audio.formats import INTERNAL_RATE

SAMPLES_PER_MS = INTERNAL_RATE // 1000
# The most audio the buffer holds (~5.8 MB); past it the oldest is dropped, so a client
# streaming faster than real time, or never committing, cannot grow it without end.
MAX_BUFFER_MS = 120_000


class InputAudioBuffer:
    """Audio appended since the last commit or clear, addressed by timeline ms."""

    def __init__(self, max_ms: int = MAX_BUFFER_MS) -> None:
        self.max_ms = max_ms
        self._chunks: list[np.ndarray] = []
        self.start_sample = 0  # timeline position of the first buffered sample
        self.end_sample = 0  # timeline position just past the last sample

    @property
    def timeline_ms(self) -> int:
        return self.end_sample // SAMPLES_PER_MS

    @property
    def duration_ms(self) -> int:
        return (self.end_sample - self.start_sample) // SAMPLES_PER_MS

    def append(self, pcm: np.ndarray) -> int:
        """Add audio; returns how many ms of the oldest were dropped to stay in bounds."""
        if len(pcm):
            self._chunks.append(pcm)
            self.end_sample += len(pcm)
        before = self.start_sample
        self.keep_last(self.max_ms)
        return (self.start_sample - before) // SAMPLES_PER_MS

    def _samples(self) -> np.ndarray:
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0] if self._chunks else np.zeros(0, np.int16)

    def peek(self, start_ms: int, end_ms: int) -> np.ndarray:
        """A copy of the audio between two timeline points, left in the buffer."""
        samples = self._samples()
        start = max(0, start_ms * SAMPLES_PER_MS - self.start_sample)
        end = max(start, min(len(samples), end_ms * SAMPLES_PER_MS - self.start_sample))
        return samples[start:end].copy()

    def take(self, start_ms: int | None = None, end_ms: int | None = None) -> np.ndarray:
        """Remove and return audio up to `end_ms` (all if None), from `start_ms` on."""
        samples = self._samples()
        end = len(samples) if end_ms is None else \
            max(0, min(len(samples), end_ms * SAMPLES_PER_MS - self.start_sample))
        start = 0 if start_ms is None else \
            max(0, min(end, start_ms * SAMPLES_PER_MS - self.start_sample))
        taken = samples[start:end].copy()
        self._chunks = [samples[end:]] if end < len(samples) else []
        self.start_sample += end
        return taken

    def keep_last(self, ms: int) -> None:
        """Drop all but the last `ms` (bounded memory while nobody speaks)."""
        excess = (self.end_sample - self.start_sample) - ms * SAMPLES_PER_MS
        if excess > 0:
            self.take(end_ms=(self.start_sample + excess) // SAMPLES_PER_MS)

    def clear(self) -> None:
        self.take()
