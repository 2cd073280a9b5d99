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
# Said with a pause (400–900 ms of silence) at each "|": mid-sentence, after "and", "so",
# a preposition or a full clause, where people stop to think. semantic_vad must wait.
PAUSED_PROMPTS = [
    "I am planning a trip to the mountains next weekend with two friends, | and I would "
    "like some advice on what to pack.",
    "My laptop gets really slow after a few hours of use, | and the fan is loud. What "
    "could be wrong?",
    "Can you tell me a little bit about | the history of the Roman Empire?",
    "I want to cook something special for dinner tonight, so | what could I make with "
    "chicken and lemons?",
    "What is the best way to | keep basil fresh in the kitchen?",
    "My sister's birthday is next week and | she loves gardening. Any gift ideas?",
    "I have been trying to sleep better, but | I keep waking up at night. What helps?",
    "Could you explain the difference between | a virus and a bacterium?",
    "I am going to Japan in April, so | what should I not miss in Kyoto?",
    "How long should I boil an egg if | I want the yolk to stay soft?",
    "My neighbour plays loud music every evening and | I don't know how to bring it up.",
    "Tell me a short story about | a dragon who is afraid of the dark.",
    "I am learning to play the guitar, and | my fingers hurt after practice. Is that normal?",
    "What would be a good name for | a small bakery near the sea?",
    "We are thinking of getting a dog, but | we both work all day. Is that a bad idea?",
    "Can you recommend a book for | someone who loved The Hobbit?",
    "I need to give a short speech at my friend's wedding, so | how should I start it?",
    "Why does bread go stale faster in | the fridge than on the counter?",
    "I ran my first five kilometres today and | I want to get faster. Where do I start?",
    "What should I pack for a week in | Iceland in the winter?",
    "I keep forgetting people's names right after | I meet them. Any tricks?",
    "Is it better to study in the morning or | late at night?",
]
PAUSE_MS = (400, 900)
# A loud-enough sample: where speech really ends inside a prompt's audio.
SPEECH_LEVEL = 500


@dataclass
class Prompt:
    text: str  # what is said, or the file name
    audio: np.ndarray  # int16, 24 kHz
    speech_end_s: float  # last loud sample, from the start of `audio`
    pauses: int = 0  # silences made inside it, mid-sentence


def loud_samples(audio: np.ndarray) -> np.ndarray:
    """Where `audio` (int16) is loud enough to be speech."""
    return np.flatnonzero(np.abs(audio.astype(np.int32)) > SPEECH_LEVEL)


def speech_end(audio: np.ndarray) -> float:
    loud = loud_samples(audio)
    return (loud[-1] + 1) / INTERNAL_RATE if len(loud) else 0.0


def synthesize(texts: list[str]) -> list[Prompt]:
    """Each text spoken; a "|" in it is a pause of PAUSE_MS (the same on every run)."""
    from vivavoce.brains.factory import build_tts
    from vivavoce.settings import Settings

    tts = build_tts(Settings())
    rng = np.random.default_rng(16)
    prompts = []
    for text in texts:
        parts = []
        for i, phrase in enumerate(text.split("|")):
            if i:
                parts.append(np.zeros(INTERNAL_RATE * int(rng.integers(*PAUSE_MS)) // 1000,
                                      np.int16))
            pcm = np.concatenate(list(tts.synthesize(phrase.strip(), None, threading.Event())))
            parts.append(resample(pcm, tts.sample_rate, INTERNAL_RATE))
        audio = np.concatenate(parts)
        prompts.append(Prompt(" ".join(p.strip() for p in text.split("|")), audio,
                              speech_end(audio), text.count("|")))
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
