"""The WebRTC call's echo guard, on real speech with times passed in: the assistant's own
voice leaking back is silence, and a user talking over it is heard from its first
syllable (what the VAD needs to stop the answer fast)."""

from __future__ import annotations

import numpy as np

from vivavoce.audio.echo import EchoGate
from vivavoce.audio.resample import int16_to_float, resample

ANSWER = "Once upon a time, in a far-off land called Dragonland, there lived a dragon."
BARGE_IN = "Sorry, wait, stop for a moment."
FRAME = 480  # 20 ms at 24 kHz
ECHO_DELAY = 5  # frames: 100 ms from playout to the microphone and back


def frames(pcm: np.ndarray) -> list[np.ndarray]:
    return [pcm[i:i + FRAME] for i in range(0, len(pcm) - FRAME + 1, FRAME)]


def leak(answer: np.ndarray, db: float) -> list[np.ndarray]:
    """What the microphone hears of the answer: its echo, `db` below it, a little late."""
    echo = (answer.astype(np.float64) * 10 ** (db / 20)).astype(np.int16)
    return [np.zeros(FRAME, np.int16)] * ECHO_DELAY + frames(echo)


def through(gate: EchoGate, answer: list[np.ndarray], mic: list[np.ndarray]) -> np.ndarray:
    """Play the answer and gate the microphone, frame by frame, 20 ms apart."""
    out = []
    for i, heard in enumerate(mic):
        if i < len(answer):
            gate.played(answer[i], i * 0.02)
        out.append(gate.gate(heard, i * 0.02))
    return np.concatenate(out)


def onset(vad_engine, pcm: np.ndarray) -> list[float]:
    """Silero's speech probabilities over the first 256 ms."""
    stream, audio = vad_engine.stream(), int16_to_float(resample(pcm, 24000, 16000))
    n = vad_engine.frame_samples
    return [stream.probability(audio[i:i + n]) for i in range(0, 8 * n, n)]


def test_residual_echo_of_the_answer_is_heard_as_silence(speak):
    answer = speak(ANSWER)
    gated = through(EchoGate(), frames(answer), leak(answer, -25))
    assert not gated.any()


def test_a_voice_over_the_answer_is_heard_from_its_start(speak, vad_engine):
    answer, user = speak(ANSWER), speak(BARGE_IN)
    echo = leak(answer, -25)
    start = 40  # the user starts 0.8 s into the answer
    mic = [e.copy() for e in echo]
    for j, f in enumerate(frames(user)):
        mic[start + j] = (mic[start + j].astype(np.int32) + f).clip(-32768, 32767).astype(
            np.int16)
    span = slice(start * FRAME, (start + len(frames(user))) * FRAME)
    spoken = through(EchoGate(), frames(answer), mic)[span]
    # The VAD hears the voice as early as it would with no guard at all.
    heard, unguarded = onset(vad_engine, spoken), onset(vad_engine, np.concatenate(mic)[span])
    assert np.allclose(heard, unguarded, atol=0.1), (heard, unguarded)
    # Its soft start (quieter than the answer's loudest vowel) is not cut: the first
    # 100 ms, and what follows, are passed on whole.
    assert all(f.any() for f in frames(spoken)[:5])
    kept = np.mean([f.any() for f in frames(spoken) if np.abs(f).max() > 500])
    assert kept > 0.9, kept


def test_once_the_answer_has_played_out_quiet_sound_passes_again(speak):
    answer = frames(speak(ANSWER))
    gate = EchoGate()
    for i, frame in enumerate(answer):
        gate.played(frame, i * 0.02)
    quiet = (answer[10] // 50).astype(np.int16)
    end = len(answer) * 0.02
    assert not gate.gate(quiet, end + 0.1).any()
    assert gate.gate(quiet, end + gate.window_s + 0.05).any()
