"""TurnDetector on its own: speech probabilities per 32 ms frame in, turn events out."""

from __future__ import annotations

import pytest

from vivavoce.session.turn_detection import (
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
    SpeechStopped,
    TurnDetector,
)

FRAME_MS = 32


def run(probabilities: list[float], silence_ms: int = 500, threshold: float = 0.5,
        padding_ms: int = 300) -> list[tuple[int, object]]:
    """(frame index, event) for each frame that changed something."""
    detector = TurnDetector(threshold, padding_ms, silence_ms)
    out = []
    for index, p in enumerate(probabilities):
        event = detector.feed(p, index * FRAME_MS, (index + 1) * FRAME_MS)
        if event is not None:
            out.append((index, event))
    return out


V, S = 0.9, 0.0  # a voiced frame, a silent one


@pytest.mark.parametrize("frames, expected", [
    # One voiced frame is noise; two (64 ms) start a turn, padded back from the voice.
    ([S] * 20 + [V] + [S] * 5, []),
    ([S] * 20 + [V, V], [(21, SpeechStarted(audio_start_ms=340, voiced_ms=640,
                                            detected_ms=704))]),
    # The padding cannot reach before the first sample.
    ([V, V], [(1, SpeechStarted(audio_start_ms=0, voiced_ms=0, detected_ms=64))]),
    # 500 ms of silence end it; the end is where the silence began.
    # Two silent frames (64 ms) are a pause: the moment to transcribe early.
    ([V] * 10 + [S] * 16, [(1, SpeechStarted(0, 0, 64)), (11, SpeechPaused(320)),
                           (25, SpeechStopped(audio_end_ms=320, detected_ms=832))]),
    # The voice back after a pause: resumed, and the silence counts from zero again
    # (480 ms of it is a new pause, not yet the end).
    ([V] * 10 + [S] * 5 + [V] * 3 + [S] * 15,
     [(1, SpeechStarted(0, 0, 64)), (11, SpeechPaused(320)), (15, SpeechResumed(480)),
      (19, SpeechPaused(576))]),
    # A one-frame dip below the threshold is no pause: nothing.
    ([V] * 10 + [S] + [V] * 5, [(1, SpeechStarted(0, 0, 64))]),
])
def test_turns_from_probabilities(frames, expected):
    assert run(frames) == expected


@pytest.mark.parametrize("hover, ends", [(0.4, False), (0.34, True)])
def test_hysteresis_keeps_a_voice_near_the_threshold_speaking(hover, ends):
    # Above threshold - 0.15 the frame is not silence (it does not restart speech either).
    events = run([V] * 10 + [hover] * 20)
    assert any(isinstance(e, SpeechStopped) for _, e in events) == ends


def test_no_pause_event_when_the_window_is_too_short_for_one():
    events = run([V] * 10 + [S] * 8, silence_ms=160)
    assert [type(e) for _, e in events] == [SpeechStarted, SpeechStopped]


def test_reset_forgets_a_turn_in_progress():
    detector = TurnDetector(0.5, 300, 500)
    assert isinstance(detector.feed(V, 0, 32) or detector.feed(V, 32, 64), SpeechStarted)
    assert detector.speaking and detector.voiced
    detector.reset()
    assert not detector.speaking
    assert detector.feed(S, 64, 96) is None  # no stop for a turn it no longer has
    assert detector.feed(V, 96, 128) is None  # a new turn needs its own 64 ms
    assert isinstance(detector.feed(V, 128, 160), SpeechStarted)
