"""Start synthesized speech at its voice, not at the dead air TTS puts before it.

Piper begins each clause with 30–300 ms of near-silence (amplitude under ~30 of
32767): nobody hears it, but everybody waits for it before the first word.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

# Quieter than this (about -54 dBFS) is no voice yet.
ONSET_LEVEL = 64
# Kept before the onset so a soft attack ("h", "f") is not clipped.
MARGIN_MS = 10


def from_onset(chunks: Iterable[np.ndarray], sample_rate: int) -> Iterator[np.ndarray]:
    """`chunks` (int16) without the silence before the first sample at `ONSET_LEVEL`.
    All silent, they end in one margin's worth, so whatever rides on the audio (a
    transcript) still has a chunk to ride on."""
    margin = max(1, sample_rate * MARGIN_MS // 1000)
    kept = np.zeros(0, np.int16)  # the latest silence, for the margin
    chunks = iter(chunks)
    for chunk in chunks:
        loud = np.flatnonzero(np.abs(chunk.astype(np.int32)) >= ONSET_LEVEL)
        if not len(loud):
            kept = np.concatenate([kept, chunk])[-margin:]
            continue
        start = int(loud[0]) - margin
        # A margin reaching back before this chunk comes from the silence before it.
        yield chunk[start:] if start >= 0 else \
            np.concatenate([kept[max(0, len(kept) + start):], chunk])
        yield from chunks
        return
    if len(kept):
        yield kept
