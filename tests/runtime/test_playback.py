"""Server-owned playback on its own: frames pulled as a track would, reports as they come."""

from __future__ import annotations

import numpy as np

from tests.fakes import voice
from vivavoce.runtime.playback import Playback


def test_frames_are_the_audio_at_48_khz_then_silence_with_playing_and_drained_reports():
    playback = Playback()
    playback.push("resp_1", "item_1", voice(100))
    playback.end_item("resp_1", "item_1")
    frames, reports = [], []
    for _ in range(8):
        frame, new = playback.frame()
        frames.append(frame)
        reports += new
    assert all(len(f) == 960 for f in frames)
    assert [r.state for r in reports] == ["playing", "drained"]
    drained = reports[-1]
    # 100 ms at 24 kHz is 2400 samples; the resampler's tail brings all of it.
    assert abs(drained.item_samples - 2400) <= 2 and drained.response_samples == \
        drained.item_samples
    assert not frames[-1].any() and playback.idle  # silence once it has all played
    # A 220 Hz tone at 48 kHz: the loud frames are the tone, resampled.
    loud = np.concatenate(frames[:4]).astype(float)
    assert np.abs(loud).max() > 2500


def test_clear_drops_the_rest_and_reports_how_much_of_the_item_was_heard():
    playback = Playback()
    playback.push("resp_1", "item_1", voice(1000))
    for _ in range(10):  # 200 ms played
        playback.frame()
    cut = playback.clear()
    assert cut is not None and cut.state == "cleared" and cut.item_id == "item_1"
    assert abs(cut.item_samples - 4800) <= 2
    assert playback.idle and not playback.frame()[0].any()
    # Audio of the cleared response that was still on its way is not played.
    playback.push("resp_1", "item_1", voice(100))
    assert playback.idle
    assert playback.clear() is None  # nothing playing: nothing to report
    playback.push("resp_2", "item_2", voice(100))
    assert not playback.idle
