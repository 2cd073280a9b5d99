"""Whisper speech-to-text on faster-whisper (CTranslate2), CPU int8."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from faster_whisper import WhisperModel


class WhisperSTT:
    def __init__(self, model_path: str | Path, *, cpu_threads: int | None = None,
                 name: str = "whisper") -> None:
        # CTranslate2 defaults to 4 threads, which oversubscribes small machines.
        threads = cpu_threads or min(4, os.cpu_count() or 1)
        self.name = name
        # Always a local directory: a bare name like "tiny.en" would go to the hub.
        self._model = WhisperModel(str(model_path), device="cpu", compute_type="int8",
                                   cpu_threads=threads, local_files_only=True)
        self._english_only = not self._model.model.is_multilingual

    def transcribe(self, audio: np.ndarray, *, language: str | None = None,
                   prompt: str | None = None) -> str:
        if audio.size == 0:
            return ""
        segments, _ = self._model.transcribe(
            audio.astype(np.float32, copy=False),
            language="en" if self._english_only else language,
            initial_prompt=prompt or None,
            beam_size=1,
            without_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,  # the caller's VAD already cut the utterance
        )
        return "".join(s.text for s in segments).strip()
