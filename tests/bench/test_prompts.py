"""The bench's spoken prompts: a "|" is a pause of 400–900 ms, mid-sentence."""

from __future__ import annotations

import numpy as np
import pytest

from vivavoce.bench.prompts import PAUSE_MS, PAUSED_PROMPTS, SPEECH_LEVEL, synthesize


def longest_quiet_ms(audio: np.ndarray) -> float:
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > SPEECH_LEVEL)
    return float(np.diff(loud).max()) / 24 if len(loud) > 1 else 0.0


@pytest.mark.slow
def test_a_bar_is_a_pause_inside_the_prompt():
    plain, paused = synthesize(["Tell me about the moon.", "Tell me about | the moon."])
    assert paused.text == plain.text == "Tell me about the moon."
    assert (plain.pauses, paused.pauses) == (0, 1)
    # The silence made is there, beside whatever quiet the voice leaves between words.
    assert longest_quiet_ms(plain.audio) < PAUSE_MS[0]
    assert PAUSE_MS[0] <= longest_quiet_ms(paused.audio) <= PAUSE_MS[1] + 300
    assert paused.speech_end_s > plain.speech_end_s + PAUSE_MS[0] / 1000


def test_every_paused_prompt_pauses_mid_sentence():
    assert len(PAUSED_PROMPTS) >= 20
    for text in PAUSED_PROMPTS:
        before, bar, after = text.partition("|")
        assert bar and before.strip() and after.strip()
        assert not before.rstrip().endswith((".", "?", "!"))  # the sentence goes on
