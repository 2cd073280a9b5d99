"""InputAudioBuffer: audio addressed by its place on the session's timeline."""

from __future__ import annotations

import numpy as np
import pytest

from vivavoce.session.input_buffer import SAMPLES_PER_MS, InputAudioBuffer


def ramp(ms: int, start_ms: int = 0) -> np.ndarray:
    """Each sample holds its own timeline index (mod 2**15), so slices are checkable."""
    first = start_ms * SAMPLES_PER_MS
    return (np.arange(first, first + ms * SAMPLES_PER_MS) % 32768).astype(np.int16)


def filled(ms: int = 1000) -> InputAudioBuffer:
    buffer = InputAudioBuffer()
    for start in range(0, ms, 100):  # in pieces, as appends arrive
        buffer.append(ramp(100, start))
    return buffer


@pytest.mark.parametrize("start_ms, end_ms, expected", [
    (0, 1000, (0, 1000)),
    (200, 300, (200, 300)),
    (900, 2000, (900, 1000)),  # past the end: what there is
    (500, 400, (500, 500)),  # backwards: nothing
])
def test_peek_leaves_the_audio_in_place(start_ms, end_ms, expected):
    buffer = filled()
    peeked = buffer.peek(start_ms, end_ms)
    assert np.array_equal(peeked, ramp(expected[1] - expected[0], expected[0]))
    assert buffer.duration_ms == 1000 and buffer.timeline_ms == 1000


@pytest.mark.parametrize("start_ms, end_ms, taken, left", [
    (None, None, (0, 1000), 0),
    (None, 400, (0, 400), 600),
    (300, 700, (300, 700), 300),  # what came before the start is dropped too
    (None, 5000, (0, 1000), 0),
])
def test_take_removes_up_to_its_end(start_ms, end_ms, taken, left):
    buffer = filled()
    out = buffer.take(start_ms, end_ms)
    assert np.array_equal(out, ramp(taken[1] - taken[0], taken[0]))
    assert buffer.duration_ms == left
    assert buffer.timeline_ms == 1000  # the timeline never goes back


def test_the_timeline_goes_on_across_takes():
    buffer = filled(1000)
    buffer.take(end_ms=600)
    buffer.append(ramp(200, 1000))
    assert buffer.timeline_ms == 1200 and buffer.duration_ms == 600
    assert np.array_equal(buffer.peek(1000, 1200), ramp(200, 1000))
    assert len(buffer.peek(0, 600)) == 0  # taken already


@pytest.mark.parametrize("keep_ms, left", [(300, 300), (1000, 1000), (5000, 1000), (0, 0)])
def test_keep_last_bounds_the_buffer(keep_ms, left):
    buffer = filled()
    buffer.keep_last(keep_ms)
    assert buffer.duration_ms == left
    assert np.array_equal(buffer.peek(0, 1000), ramp(left, 1000 - left))


def test_clear_empties_but_keeps_the_timeline():
    buffer = filled()
    buffer.clear()
    assert buffer.duration_ms == 0 and buffer.timeline_ms == 1000
    buffer.append(np.zeros(0, np.int16))
    assert buffer.timeline_ms == 1000
