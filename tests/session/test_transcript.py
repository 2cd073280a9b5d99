"""heard_text: what the user heard of an answer cut off at a given sample."""

from __future__ import annotations

import pytest

from vivavoce.transcript import heard_text

SEGMENTS = [(0, 100, "One two three four."), (100, 200, " Five six seven eight."),
            (200, 300, " Nine ten.")]


@pytest.mark.parametrize("cut, heard", [
    (0, ""),
    (100, "One two three four."),  # a whole segment, exactly
    (50, "One two"),  # half the audio, half the words
    (40, "One two"),  # rounded to the nearest word
    (10, ""),
    (175, "One two three four. Five six seven"),
    (300, "One two three four. Five six seven eight. Nine ten."),
    (10_000, "One two three four. Five six seven eight. Nine ten."),
])
def test_heard_text(cut, heard):
    assert heard_text(SEGMENTS, cut) == heard


def test_no_segments_no_words():
    assert heard_text([], 500) == ""


def test_a_segment_of_no_length_counts_as_heard():
    assert heard_text([(0, 0, "Hm.")], 0) == "Hm."
    assert heard_text([(0, 0, "Hm."), (0, 10, " Yes.")], 4) == "Hm."
