"""A guard against the assistant hearing itself: residual echo of its own voice.

Browsers cancel echo (`getUserMedia` with `echoCancellation`), but what leaks through
must not read as the user barging in. While the assistant plays, a microphone frame
much quieter than what was just played is taken for echo and passed on as silence;
the user talking over it is louder than its echo and passes. Times are passed in.
"""

from __future__ import annotations

from collections import deque

import numpy as np

# How loud echo may come back, relative to the loudest voice played (-20 dB): an echo
# canceller leaves less than that, a voice near the microphone is far more. A stricter
# guard (-10 dB) silenced the first 80 ms of a user talking over the answer (the soft
# start of a word is quieter than the answer's loudest vowel), which cost the VAD a
# frame of its ramp: 32 ms more of the assistant talking over the user.
ECHO_COUPLING = 0.1
# How long after a frame is played its echo may come back (playout, capture, network).
ECHO_WINDOW_S = 0.6


def rms(pcm: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(pcm.astype(np.float64))))) if len(pcm) else 0.0


class EchoGate:
    def __init__(self, coupling: float = ECHO_COUPLING, window_s: float = ECHO_WINDOW_S) -> None:
        self.coupling = coupling
        self.window_s = window_s
        self._played: deque[tuple[float, float]] = deque()  # (when, level) of frames played

    def played(self, pcm: np.ndarray, now: float) -> None:
        """A frame of the assistant's voice went out at `now`."""
        level = rms(pcm)
        if level > 0:
            self._played.append((now, level))
        self._forget(now)

    def gate(self, pcm: np.ndarray, now: float) -> np.ndarray:
        """The microphone frame heard at `now`, or silence if it is only echo."""
        self._forget(now)
        if not self._played:
            return pcm
        echo = self.coupling * max(level for _, level in self._played)
        return pcm if rms(pcm) >= echo else np.zeros_like(pcm)

    def _forget(self, now: float) -> None:
        while self._played and self._played[0][0] < now - self.window_s:
            self._played.popleft()
