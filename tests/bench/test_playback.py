"""The bench hears an answer when its first loud sample plays, not when it arrives."""

from __future__ import annotations

import base64

import numpy as np

from vivavoce.bench.prompts import SPEECH_LEVEL
from vivavoce.bench.user import Playback


def delta(pcm: np.ndarray) -> str:
    return base64.b64encode(pcm.astype("<i2").tobytes()).decode()


def test_silence_ahead_of_the_voice_is_waited_through():
    playback = Playback()
    assert playback.first_loud(10.0, delta(np.zeros(2400))) is None  # 100 ms of silence
    voice = np.concatenate([np.zeros(1200), np.full(100, 2 * SPEECH_LEVEL)])
    # Arrived at 10.01 s, but it plays after the 100 ms before it and its own 50 ms.
    assert playback.first_loud(10.01, delta(voice)) == 10.0 + 3600 / 24000


def test_a_late_delta_is_heard_when_it_arrives():
    playback = Playback()
    playback.first_loud(10.0, delta(np.zeros(240)))  # 10 ms, long played out by...
    assert playback.first_loud(11.0, delta(np.full(10, 2 * SPEECH_LEVEL))) == 11.0  # ...now
