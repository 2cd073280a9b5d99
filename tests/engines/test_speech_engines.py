"""VAD, Whisper and Piper on the embedded models, checked against each other."""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest
import soxr


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))  # Levenshtein distance over words
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / len(ref)


def frames(audio: np.ndarray, size: int = 512) -> list[np.ndarray]:
    return [audio[i:i + size] for i in range(0, len(audio) - size + 1, size)]


def test_piper_speaks_plausibly(tts, sentence):
    chunks = list(tts.synthesize(sentence, "joe", threading.Event()))
    audio = np.concatenate(chunks)
    assert audio.dtype == np.int16 and tts.sample_rate == 22050
    seconds = len(audio) / tts.sample_rate
    assert 2.0 < seconds < 6.0  # 13 words at a normal speaking rate
    assert np.sqrt(np.mean(audio.astype(np.float64) ** 2)) > 1000
    assert tts.voices == ["joe"] and tts.default_voice == "joe"


def test_piper_yields_per_sentence_and_honours_cancel(tts):
    text = "First sentence here. Second one follows. And a third."
    assert len(list(tts.synthesize(text, None, threading.Event()))) == 3
    cancel = threading.Event()
    got = []
    for chunk in tts.synthesize(text, None, cancel):
        got.append(chunk)
        cancel.set()
    assert len(got) == 1
    assert list(tts.synthesize(text, None, cancel)) == []
    with pytest.raises(ValueError, match="unknown voice"):
        next(tts.synthesize(text, "alloy", threading.Event()))


def test_piper_speaks_at_the_speed_asked(tts, stt, sentence):
    def say(speed: float) -> np.ndarray:
        return np.concatenate(list(tts.synthesize(sentence, None, threading.Event(), speed)))

    normal, fast, slow = say(1.0), say(1.5), say(0.5)
    # Phonemes are stretched, not the signal: ~1/speed as long, and the words stay.
    assert 0.55 < len(fast) / len(normal) < 0.8
    assert 1.6 < len(slow) / len(normal) < 2.4
    heard = stt.transcribe(soxr.resample(fast.astype(np.float32) / 32768, tts.sample_rate,
                                         16000))
    assert word_error_rate(sentence, heard) <= 0.25, heard


def test_whisper_transcribes_piper_speech(stt, speech_16k, sentence):
    text = stt.transcribe(speech_16k)
    assert word_error_rate(sentence, text) <= 0.1, text
    assert stt.transcribe(np.zeros(0, np.float32)) == ""


def test_vad_hears_speech_not_silence_or_noise(vad, speech_16k):
    assert (vad.sample_rate, vad.frame_samples) == (16000, 512)
    stream = vad.stream()
    probs = np.array([stream.probability(f) for f in frames(speech_16k)])
    assert probs.max() > 0.9
    assert np.mean(probs > 0.5) > 0.7  # Piper leaves little silence around the words

    stream.reset()
    assert max(stream.probability(np.zeros(512, np.float32)) for _ in range(40)) < 0.1
    stream.reset()
    noise = np.random.default_rng(0).normal(0, 0.05, 512 * 40).astype(np.float32)
    assert max(stream.probability(f) for f in frames(noise)) < 0.2


def test_vad_streams_keep_their_own_state(vad, speech_16k):
    one, two = vad.stream(), vad.stream()
    silence = np.zeros(512, np.float32)
    alone = [one.probability(f) for f in frames(speech_16k)]
    one.reset()
    interleaved = []
    for f in frames(speech_16k):
        interleaved.append(one.probability(f))
        two.probability(silence)
    assert np.allclose(alone, interleaved)
    with pytest.raises(ValueError, match="512 samples"):
        one.probability(np.zeros(480, np.float32))
