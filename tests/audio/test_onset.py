"""Synthesized speech starts at its voice: the silence TTS puts before it is skipped."""

from __future__ import annotations

import threading

import numpy as np

from vivavoce.audio.onset import MARGIN_MS, ONSET_LEVEL, from_onset

RATE = 22050
MARGIN = RATE * MARGIN_MS // 1000


def tone(n: int, level: int = 8000) -> np.ndarray:
    return (level * np.sin(np.arange(1, n + 1) / 5)).astype(np.int16)  # loud from the start


def joined(chunks) -> np.ndarray:
    return np.concatenate(list(chunks))


def test_the_silence_before_the_voice_is_cut_to_a_margin():
    hiss = np.full(3000, ONSET_LEVEL // 2, np.int16)
    voice = tone(5000)
    out = joined(from_onset([np.concatenate([hiss, voice])], RATE))
    assert len(out) == MARGIN + len(voice)
    np.testing.assert_array_equal(out[MARGIN:], voice)


def test_the_margin_reaches_back_into_earlier_chunks_and_later_chunks_pass_untouched():
    quiet = [np.zeros(40, np.int16), np.full(100, 3, np.int16), np.zeros(50, np.int16)]
    voice, rest = tone(300), np.zeros(700, np.int16)
    out = list(from_onset([*quiet, voice, rest], RATE))
    silence = np.concatenate(quiet)
    np.testing.assert_array_equal(out[0], np.concatenate([silence[-MARGIN:], voice]))
    np.testing.assert_array_equal(out[1], rest)  # pauses inside the speech stay
    assert len(out) == 2


def test_all_silence_still_yields_a_chunk_and_nothing_yields_nothing():
    (out,) = from_onset([np.zeros(1000, np.int16), np.zeros(1000, np.int16)], RATE)
    assert len(out) == MARGIN and not out.any()
    assert list(from_onset([], RATE)) == []


def test_piper_speech_is_heard_at_once(tts_engine):
    # Piper puts 30-300 ms of near-silence before a clause ("An ant..." the most).
    for text in ("An ant has six legs.", "The capital of France"):
        chunks = list(tts_engine.synthesize(text, None, threading.Event()))
        raw, out = joined(chunks), joined(from_onset(chunks, tts_engine.sample_rate))
        onset_ms = np.flatnonzero(np.abs(out.astype(np.int32)) >= ONSET_LEVEL)[0] \
            * 1000 / tts_engine.sample_rate
        assert onset_ms <= MARGIN_MS + 1
        assert len(out) < len(raw)  # something was cut...
        np.testing.assert_array_equal(out, raw[len(raw) - len(out):])  # ...only the lead-in
        assert len(out) > 0.5 * len(raw)
