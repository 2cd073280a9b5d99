"""Engine tests use the session-wide engines from tests/conftest.py (loaded once)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import soxr


@pytest.fixture(scope="session")
def tts(tts_engine):
    return tts_engine


@pytest.fixture(scope="session")
def stt(stt_engine):
    return stt_engine


@pytest.fixture(scope="session")
def vad(vad_engine):
    return vad_engine


@pytest.fixture(scope="session")
def llm(llm_engine):
    return llm_engine


@pytest.fixture(scope="session")
def sentence() -> str:
    return "The quick brown fox jumps over the lazy dog near the river bank."


@pytest.fixture(scope="session")
def speech_16k(tts, sentence) -> np.ndarray:
    """`sentence` spoken by Piper, as float32 at 16 kHz like the STT/VAD input."""
    pcm = np.concatenate(list(tts.synthesize(sentence, None, threading.Event())))
    return soxr.resample(pcm.astype(np.float32) / 32768, tts.sample_rate, 16000)
