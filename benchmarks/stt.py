"""Whisper on spoken prompts: the full 30 s window vs the short window.

    .venv/bin/python benchmarks/stt.py

Prompts are the bench's, spoken by the embedded Piper voice; prints the
median and p95 time per utterance and the mean word error rate of each mode.
"""

from __future__ import annotations

import time

import numpy as np

from vivavoce.audio.resample import int16_to_float, resample
from vivavoce.bench.prompts import DEFAULT_PROMPTS, synthesize
from vivavoce.bench.wer import wer
from vivavoce.engines.whisper_stt import WhisperSTT
from vivavoce.models.locate import model_path


def main() -> None:
    prompts = synthesize(DEFAULT_PROMPTS)
    audio = [int16_to_float(resample(p.audio, 24000, 16000)) for p in prompts]
    for short in (False, True):
        stt = WhisperSTT(model_path("stt"), cpu_threads=2, short_window=short)
        stt.transcribe(audio[0])  # warm up
        times, errors = [], []
        for prompt, samples in zip(prompts, audio, strict=True):
            started = time.perf_counter()
            text = stt.transcribe(samples)
            times.append(time.perf_counter() - started)
            errors.append(wer(prompt.text, text))
        print(f"{'short window' if short else '30 s window':13} median "
              f"{np.median(times) * 1000:4.0f} ms  p95 {np.percentile(times, 95) * 1000:4.0f} ms"
              f"  mean WER {np.mean(errors):.3f}  ({len(prompts)} prompts)")


if __name__ == "__main__":
    main()
