"""Streaming resampling with soxr (never by dropping samples)."""

from __future__ import annotations

import numpy as np
import soxr


class StreamResampler:
    """Resamples int16 chunks of one continuous stream, keeping filter state."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._stream = (
            None if in_rate == out_rate
            else soxr.ResampleStream(in_rate, out_rate, 1, dtype="int16", quality="HQ")
        )

    def process(self, pcm: np.ndarray, last: bool = False) -> np.ndarray:
        if self._stream is None:
            return pcm
        return self._stream.resample_chunk(pcm, last=last)


def resample(pcm: np.ndarray, in_rate: int, out_rate: int) -> np.ndarray:
    """One-shot resampling of a whole int16 or float32 signal."""
    if in_rate == out_rate:
        return pcm
    return soxr.resample(pcm, in_rate, out_rate, quality="HQ")


def int16_to_float(pcm: np.ndarray) -> np.ndarray:
    return pcm.astype(np.float32) / 32768.0
