"""Input audio cut into VAD frames on the speech models' 16 kHz timeline."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from vivavoce.audio.formats import INTERNAL_RATE, SPEECH_RATE
from vivavoce.audio.resample import StreamResampler, int16_to_float
from vivavoce.engines.base import VAD


class VADFrames:
    """int16 24 kHz audio in; each whole frame's speech probability and its span (ms
    since the first sample fed) out. Keeps the partial frame for the next call."""

    def __init__(self, vad: VAD) -> None:
        self._stream = vad.stream()
        self._frame = vad.frame_samples
        self._resampler = StreamResampler(INTERNAL_RATE, SPEECH_RATE)
        self._pending = np.zeros(0, np.float32)
        self._samples = 0  # 16 kHz samples through the VAD so far

    @property
    def now_ms(self) -> int:
        """Where the frames fed so far end."""
        return self._samples * 1000 // SPEECH_RATE

    @property
    def frame_ms(self) -> int:
        return self._frame * 1000 // SPEECH_RATE

    def feed(self, pcm: np.ndarray) -> Iterator[tuple[float, int, int]]:
        samples = np.concatenate([self._pending, int16_to_float(self._resampler.process(pcm))])
        whole = len(samples) // self._frame * self._frame
        self._pending = samples[whole:]
        for start in range(0, whole, self._frame):
            start_ms = self.now_ms
            self._samples += self._frame
            yield self._stream.probability(samples[start:start + self._frame]), start_ms, \
                self.now_ms
