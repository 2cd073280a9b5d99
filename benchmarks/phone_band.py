"""Speech to text over the phone: word accuracy of the bench's prompts as the server
hears them from a phone call (μ-law at 8 kHz) against the same prompts at 24 kHz.

    .venv/bin/python benchmarks/phone_band.py [--noise-dbfs -45] [--takes 3]

The prompts are spoken by the embedded Piper voice (each several times: its sampling
noise makes every take a little different), then taken through the phone path
exactly as a call carries them: down to 8 kHz, μ-law, back up by the stream's own
decoder, then to Whisper as the server does. With `--noise-dbfs`, a line's hiss is
added on the phone side. Also counts the turns server VAD hears in each prompt (one is
right) and in a minute of the line alone (none is right).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from vivavoce.audio import g711
from vivavoce.audio.formats import FORMATS, INTERNAL_RATE, SPEECH_RATE, Decoder
from vivavoce.audio.resample import int16_to_float, resample
from vivavoce.bench.prompts import DEFAULT_PROMPTS, synthesize
from vivavoce.bench.wer import wer, words
from vivavoce.brains.factory import build_vad
from vivavoce.engines.whisper_stt import WhisperSTT
from vivavoce.models.locate import model_path
from vivavoce.session.turn_detection import SpeechStarted, TurnDetector
from vivavoce.session.vad_frames import VADFrames

# What people say on a phone line besides the bench's questions: numbers and codes.
PHONE_PROMPTS = [
    "Is the code four eight two nine?",
    "My account number is seven three one five.",
    "Can you call me back at five five five, zero one nine nine?",
    "I would like to book a table for two at eight o'clock.",
]


_DIGITS = {w: str(i) for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])}


def spoken(text: str) -> str:
    """Digits as single digits, however they were written ("4829", "four eight two nine"):
    Whisper writes a code as a number, which is not a mistake."""
    out = []
    for word in words(text.replace("-", " ")):
        word = _DIGITS.get(word, word)
        out += list(word) if word.isdigit() else [word]
    return " ".join(out)


def phone_line(pcm: np.ndarray, noise_dbfs: float | None, rng: np.random.Generator
               ) -> np.ndarray:
    """24 kHz speech as a Twilio call delivers it to the server (24 kHz again)."""
    narrow = resample(pcm, INTERNAL_RATE, 8000).astype(np.float64)
    if noise_dbfs is not None:
        narrow += rng.normal(0, 32768 * 10 ** (noise_dbfs / 20), len(narrow))
    mulaw = g711.ulaw_encode(np.clip(narrow, -32768, 32767).astype(np.int16))
    return Decoder(FORMATS["audio/pcmu"]).decode(mulaw)


def turns(vad, pcm: np.ndarray, threshold: float = 0.5) -> int:
    """How many turns server VAD (default settings) hears in `pcm`, as a session would."""
    detector = TurnDetector(threshold, prefix_padding_ms=300, silence_ms=500)
    return sum(isinstance(detector.feed(*frame), SpeechStarted)
               for frame in VADFrames(vad).feed(pcm))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--noise-dbfs", type=float, help="line hiss, e.g. -45")
    parser.add_argument("--takes", type=int, default=3, help="takes of each prompt")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    prompts = synthesize((DEFAULT_PROMPTS + PHONE_PROMPTS) * args.takes)
    stt = WhisperSTT(model_path("stt"), cpu_threads=2, short_window=True)
    vad = build_vad()
    rows: dict[str, tuple[list[float], list[float], list[int], int]] = {}
    pad = np.zeros(INTERNAL_RATE // 2, np.int16)
    for band in ("24 kHz", "8 kHz μ-law"):
        errors, times, heard, words_total = [], [], [], 0
        for prompt in prompts:
            pcm = prompt.audio if band == "24 kHz" else phone_line(prompt.audio,
                                                                    args.noise_dbfs, rng)
            samples = int16_to_float(resample(pcm, INTERNAL_RATE, SPEECH_RATE))
            started = time.perf_counter()
            text = stt.transcribe(samples)
            times.append(time.perf_counter() - started)
            error = wer(spoken(prompt.text), spoken(text))
            errors.append(error * len(words(spoken(prompt.text))))
            words_total += len(words(spoken(prompt.text)))
            padded = np.concatenate([pad, prompt.audio, pad, pad])
            heard.append(turns(vad, padded if band == "24 kHz" else
                               phone_line(padded, args.noise_dbfs, rng)))
            if error:
                print(f"  {band}: {prompt.text!r} → {text!r}")
        rows[band] = (errors, times, heard, words_total)
    print(f"{len(prompts)} prompts, {rows['24 kHz'][3]} words"
          + (f", line noise {args.noise_dbfs} dBFS" if args.noise_dbfs is not None else ""))
    for band, (errors, times, heard, total) in rows.items():
        print(f"{band:12} word accuracy {1 - sum(errors) / total:6.1%}  "
              f"(WER {sum(errors) / total:.3f})  STT median {np.median(times) * 1000:4.0f} ms"
              f"  prompts heard as one turn {heard.count(1)}/{len(heard)}")
    line_alone = phone_line(np.zeros(60 * INTERNAL_RATE, np.int16), args.noise_dbfs, rng)
    print(f"turns heard in a minute of the phone line alone: {turns(vad, line_alone)}")


if __name__ == "__main__":
    main()
