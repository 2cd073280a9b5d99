"""Spoken prompts for the bench: made with the embedded TTS, or the user's WAV files."""

from __future__ import annotations

import threading
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vivavoce.audio.formats import INTERNAL_RATE
from vivavoce.audio.resample import resample

# 1–8 s of speech each, the kind of thing people ask a voice assistant.
DEFAULT_PROMPTS = [
    "What time is it?",
    "Hello, how are you today?",
    "What is the capital of France?",
    "Tell me a joke.",
    "How many days are in a leap year?",
    "What's a good name for a black cat?",
    "Can you recommend a book for a long flight?",
    "What is the boiling point of water in Fahrenheit?",
    "Give me one tip for sleeping better.",
    "Why is the sky blue?",
    "How do I make a cup of green tea?",
    "What should I cook for dinner tonight if I only have eggs and rice?",
    "Explain in one sentence what a black hole is.",
    "What is the difference between weather and climate?",
    "I'm feeling a bit tired this afternoon, any ideas to get some energy back?",
    "How far away is the moon?",
    "Say something encouraging, I have an exam tomorrow morning.",
    "What's the best way to learn a new language as an adult?",
    "Can you help me think of a birthday present for my sister who loves gardening?",
    "How many legs does a spider have?",
    "What is photosynthesis?",
    "Tell me an interesting fact about octopuses.",
]
# A loud-enough sample: where speech really ends inside a prompt's audio.
SPEECH_LEVEL = 500


@dataclass
class Prompt:
    text: str  # what is said, or the file name
    audio: np.ndarray  # int16, 24 kHz
    speech_end_s: float  # last loud sample, from the start of `audio`


def speech_end(audio: np.ndarray) -> float:
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > SPEECH_LEVEL)
    return (loud[-1] + 1) / INTERNAL_RATE if len(loud) else 0.0


def synthesize(texts: list[str]) -> list[Prompt]:
    from vivavoce.brains.factory import build_tts
    from vivavoce.settings import Settings

    tts = build_tts(Settings())
    prompts = []
    for text in texts:
        pcm = np.concatenate(list(tts.synthesize(text, None, threading.Event())))
        audio = resample(pcm, tts.sample_rate, INTERNAL_RATE)
        prompts.append(Prompt(text, audio, speech_end(audio)))
    return prompts


def load_wav(path: Path) -> Prompt:
    with wave.open(str(path)) as wav:
        if wav.getsampwidth() != 2:
            raise SystemExit(f"{path}: only 16-bit PCM WAV files are supported")
        data = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
        if wav.getnchannels() > 1:
            data = data.reshape(-1, wav.getnchannels()).mean(axis=1).astype(np.int16)
        audio = resample(data, wav.getframerate(), INTERNAL_RATE)
    return Prompt(path.name, audio, speech_end(audio))
